import PulseEngine
import PulseProtocol

/// Where the hub queues one subscriber's messages (encoded frames, in order): a connection's
/// ``LiveOutbox`` in the server, a simulated client's inbox in the simulator.
public protocol LiveSink: Sendable {
    /// Queues a message; false when the sink is closed or had to close (the hub then stops
    /// sending to it: the subscriber rejoins, or its connection ends).
    @discardableResult func send(_ frame: LiveFrame) -> Bool
}

/// How the hub catches up a subscriber that rejoins with `sinceSeq`, or fell out of step with
/// the others: the changes it missed. A strategy, so that the wiring can put in another one
/// (a harness's known-broken variant) without the hub knowing.
public protocol LiveCatchUp: Sendable {
    /// The changes after `afterSeq` in seq order, or nil when the log no longer reaches back that
    /// far (the hub then sends a snapshot). Throws what the engine throws.
    func missed(eventID: String, afterSeq: Int64, engine: BookingEngine) async throws -> [SeatChange]?
}

/// The production catch-up: the engine's change log, as it is (PB-LIVE-8).
public struct LogCatchUp: LiveCatchUp {
    public init() {}

    public func missed(eventID: String, afterSeq: Int64, engine: BookingEngine) async throws -> [SeatChange]? {
        guard case .changes(let changes) = try await engine.changes(eventID: eventID, afterSeq: afterSeq) else { return nil }
        return changes
    }
}
