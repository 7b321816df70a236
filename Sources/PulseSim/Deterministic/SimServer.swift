import PulseEngine
import PulseHistory
import PulseLive
import PulseProtocol
import PulseScenario
import Synchronization

/// The server's clock in a simulation: true virtual time plus an offset that clock jumps move
/// (an NTP step, a skew between the server and its stores). History times stay true time.
final class SimServerClock: EngineClock {
    let truth: ManualClock
    private let offset = Mutex<Int64>(0)

    init(truth: ManualClock) { self.truth = truth }

    func nowMs() -> Int64 { truth.nowMs() + offset.withLock { $0 } }

    /// Steps the clock by `ms`; returns the new offset from true time.
    func jump(byMs ms: Int64) -> Int64 {
        offset.withLock {
            $0 += ms
            return $0
        }
    }
}

/// Why a simulated request got no answer from the server.
struct ServerCrashed: Error {}

/// The simulated server process: the engine that serves requests now, the live hub that serves
/// its subscribers (the production ``LiveHub``), and the crash epoch. A crash ends the epoch:
/// requests of the old epoch die at their next store boundary (whatever they committed durably
/// stays), the embedded hot state and every live connection are gone, and until the restart every
/// request is refused.
final class SimServer: Sendable {
    /// The epoch of the server that took the current request (set by ``serve(_:)``).
    @TaskLocal static var requestEpoch: Int?

    /// What a running server process is made of.
    struct Process: Sendable {
        let engine: BookingEngine
        let hub: LiveHub
        let epoch: Int
    }

    private struct State {
        var process: Process?
        var epoch = 0
    }
    private let state: Mutex<State>
    private let catchUp: any LiveCatchUp

    /// A server not yet started (see ``restart(_:)``); its hubs catch subscribers up with `catchUp`.
    init(catchUp: any LiveCatchUp = LogCatchUp()) {
        state = Mutex(State())
        self.catchUp = catchUp
    }

    /// The running engine, or nil while the server is down.
    var engine: BookingEngine? { state.withLock { $0.process?.engine } }

    /// The current epoch (a crash starts a new one).
    var epoch: Int { state.withLock { $0.epoch } }

    /// Whether a request of `epoch` was cut off by a crash.
    func crashed(since epoch: Int) -> Bool { state.withLock { $0.epoch != epoch } }

    /// Runs `body` as a request the current server process took; nil when the server is down.
    /// Throws ``ServerCrashed`` when the server crashed while the request ran.
    func serveProcess<T: Sendable>(_ body: (Process) async throws -> T) async throws -> T? {
        guard let process = state.withLock({ $0.process }) else { return nil }
        do {
            let result = try await SimServer.$requestEpoch.withValue(process.epoch) { try await body(process) }
            if crashed(since: process.epoch) { throw ServerCrashed() }
            return result
        } catch {
            if crashed(since: process.epoch) { throw ServerCrashed() }
            throw error
        }
    }

    /// Runs `body` as a request the current server took; nil when the server is down.
    /// Throws ``ServerCrashed`` when the server crashed while the request ran.
    func serve<T: Sendable>(_ body: (BookingEngine) async throws -> T) async throws -> T? {
        try await serveProcess { try await body($0.engine) }
    }

    /// The process dies, and its live connections with it.
    func crash() {
        state.withLock {
            $0.process = nil
            $0.epoch += 1
        }
    }

    /// A (new) process starts serving with `engine` and a fresh live hub.
    func restart(_ engine: BookingEngine) {
        let hub = LiveHub(engine: engine, catchUp: catchUp)
        state.withLock { $0.process = Process(engine: engine, hub: hub, epoch: $0.epoch) }
    }
}
