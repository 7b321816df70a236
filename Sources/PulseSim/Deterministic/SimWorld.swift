import Foundation
import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario
import Synchronization

/// The simulated processes of a run and what they share: the server, the stores, the clocks.
final class SimWorld: Sendable {
    let configuration: SimConfiguration
    let server: SimServer
    let faults: SimFaults
    let scheduler: SimScheduler
    let recorder: HistoryRecorder
    let serverClock: SimServerClock
    let eventID: String
    let startMs: Int64
    /// When each user arrives, in ms after the start.
    let arrivalMs: [Int64]
    /// Builds the engine of a (re)started server on the given hot store.
    let makeEngine: @Sendable (any HotStore) -> BookingEngine
    private let progress: Mutex<(usersLeft: Int, doneAtMs: Int64?, operations: Int)>

    init(
        configuration: SimConfiguration, server: SimServer, faults: SimFaults, serverClock: SimServerClock, eventID: String, startMs: Int64,
        makeEngine: @escaping @Sendable (any HotStore) -> BookingEngine
    ) {
        self.configuration = configuration
        self.server = server
        self.faults = faults
        self.scheduler = faults.scheduler
        self.recorder = faults.recorder
        self.serverClock = serverClock
        self.eventID = eventID
        self.startMs = startMs
        self.makeEngine = makeEngine
        self.arrivalMs = Self.arrivals(configuration)
        self.progress = Mutex((configuration.users, nil, 0))
    }

    /// Whether the users have finished and the quiesce phase is over.
    var finished: Bool {
        let quiesce = configuration.quiesceMs ?? Int64(3 * configuration.holdTTLSeconds * 1000 + 1000)
        return progress.withLock { state in state.doneAtMs.map { scheduler.clock.nowMs() >= $0 + quiesce } ?? false }
    }

    /// Users that have not finished yet.
    var usersLeft: Int { progress.withLock { $0.usersLeft } }

    /// Whether a user may start another operation under the run's limits (and counts it).
    func mayStartOperation() -> Bool {
        if let limit = configuration.durationLimitMs, scheduler.clock.nowMs() >= startMs + limit { return false }
        return progress.withLock { state in
            if let limit = configuration.operationsLimit, state.operations >= limit { return false }
            state.operations += 1
            return true
        }
    }

    func userFinished() {
        progress.withLock { state in
            state.usersLeft -= 1
            if state.usersLeft == 0 { state.doneAtMs = scheduler.clock.nowMs() }
        }
    }

    /// Arrival times: closed, spread evenly over the ramp; open, a Poisson stream whose rate climbs
    /// linearly to its full value over the ramp.
    static func arrivals(_ configuration: SimConfiguration) -> [Int64] {
        switch configuration.arrival {
        case .closed:
            guard configuration.rampMs > 0 else { return Array(repeating: 0, count: configuration.users) }
            return (0..<configuration.users).map { configuration.rampMs * Int64($0) / Int64(configuration.users) }
        case .open(let perSecond):
            // Poisson arrivals of intensity rate(t) = perSecond * min(1, t / ramp): draw unit
            // exponential steps of the cumulative intensity and invert it.
            var random = SeededRandom(seed: configuration.seed ^ 0xA221_7A15)
            let rampS = Double(configuration.rampMs) / 1000
            var cumulative = 0.0
            return (0..<configuration.users).map { _ in
                cumulative += -log((Double(random.next() >> 11) + 1) / Double(1 << 53))
                let rampArrivals = perSecond * rampS / 2
                let seconds =
                    cumulative <= rampArrivals
                    ? (2 * cumulative * rampS / perSecond).squareRoot()
                    : rampS + (cumulative - rampArrivals) / perSecond
                return Int64(seconds * 1000)
            }
        }
    }

    /// The process name of a user id (`u3`).
    func userName(_ id: String) -> String {
        guard let number = Int(id, radix: 16) else { return id }
        return "u\(number - 0x5151_0000)"
    }

    /// The user id of user `index`.
    static func userID(_ index: Int) -> String { String(format: "%024x", 0x5151_0000 + index) }
}
