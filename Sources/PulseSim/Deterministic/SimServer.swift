import PulseEngine
import PulseHistory
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
    func jump(byMs ms: Int64) -> Int64 { offset.withLock { $0 += ms; return $0 } }
}

/// Why a simulated request got no answer from the server.
struct ServerCrashed: Error {}

/// The simulated server process: the engine that serves requests now, and the crash epoch. A
/// crash ends the epoch: requests of the old epoch die at their next store boundary (whatever
/// they committed durably stays), the embedded hot state is gone, and until the restart every
/// request is refused.
final class SimServer: Sendable {
    /// The epoch of the server that took the current request (set by ``serve(_:)``).
    @TaskLocal static var requestEpoch: Int?

    private struct State {
        var engine: BookingEngine?
        var epoch = 0
    }
    private let state: Mutex<State>

    /// A server not yet started (see ``restart(_:)``).
    init() { state = Mutex(State()) }

    /// The running engine, or nil while the server is down.
    var engine: BookingEngine? { state.withLock { $0.engine } }

    /// Whether a request of `epoch` was cut off by a crash.
    func crashed(since epoch: Int) -> Bool { state.withLock { $0.epoch != epoch } }

    /// Runs `body` as a request the current server took; nil when the server is down.
    /// Throws ``ServerCrashed`` when the server crashed while the request ran.
    func serve<T: Sendable>(_ body: (BookingEngine) async throws -> T) async throws -> T? {
        let (engine, epoch) = state.withLock { ($0.engine, $0.epoch) }
        guard let engine else { return nil }
        do {
            let result = try await SimServer.$requestEpoch.withValue(epoch) { try await body(engine) }
            if crashed(since: epoch) { throw ServerCrashed() }
            return result
        } catch {
            if crashed(since: epoch) { throw ServerCrashed() }
            throw error
        }
    }

    /// The process dies.
    func crash() { state.withLock { $0.engine = nil; $0.epoch += 1 } }

    /// A (new) process starts serving with `engine`.
    func restart(_ engine: BookingEngine) { state.withLock { $0.engine = engine } }
}
