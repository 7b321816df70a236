import PulseEngine
import PulseLive
import PulseProtocol

/// `skip-replayed-change`: the live hub's catch-up of a rejoining (or lagging) subscriber leaves
/// out the first change it missed. With two or more missed changes the subscriber's cursor moves
/// past the skipped one, so it never arrives: a browser that rejoined shows a stale seat.
struct SkippingCatchUp: LiveCatchUp {
    func missed(eventID: String, afterSeq: Int64, engine: BookingEngine) async throws -> [SeatChange]? {
        guard let missed = try await LogCatchUp().missed(eventID: eventID, afterSeq: afterSeq, engine: engine) else { return nil }
        return Array(missed.dropFirst())
    }
}
