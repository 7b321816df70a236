import PulseEngine
import PulseProtocol

/// Decoding of the per-event change log: stream entries with id `<seq>-0` and fields `t` (type),
/// `s` (seat, or seats joined by commas), `u` (lockedBy) and `r` (reason).
enum RedisChangeLog {
    /// One `XRANGE` entry as a ``SeatChange``. Throws ``HotStoreError/unavailable(_:)`` for an entry it cannot read.
    static func decode(_ entry: RESPValue, eventID: String) throws -> SeatChange {
        guard let parts = entry.array, parts.count == 2, let id = parts[0].string, let fieldList = parts[1].array,
            let seq = Int64(id.split(separator: "-").first ?? "")
        else { throw invalid(entry) }
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: fieldList.count - 1, by: 2) {
            if let name = fieldList[index].string, let value = fieldList[index + 1].string { fields[name] = value }
        }
        switch (fields["t"], fields["s"]) {
        case ("seat_locked", let seat?):
            guard let user = fields["u"] else { throw invalid(entry) }
            return .seatLocked(eventId: eventID, seatId: seat, lockedBy: user, seq: seq)
        case ("seat_released", let seat?):
            guard let reason = fields["r"].flatMap(ReleaseReason.init(rawValue:)) else { throw invalid(entry) }
            return .seatReleased(eventId: eventID, seatId: seat, reason: reason, seq: seq)
        case ("seats_booked", let seats?):
            return .seatsBooked(eventId: eventID, seatIds: seats.split(separator: ",").map(String.init), seq: seq)
        case ("seats_released", let seats?):
            guard let reason = fields["r"].flatMap(ReleaseReason.init(rawValue:)) else { throw invalid(entry) }
            return .seatsReleased(eventId: eventID, seatIds: seats.split(separator: ",").map(String.init), reason: reason, seq: seq)
        case ("event_deleted", _):
            return .eventDeleted(eventId: eventID, seq: seq)
        default:
            throw invalid(entry)
        }
    }

    private static func invalid(_ entry: RESPValue) -> HotStoreError { .unavailable("unreadable change log entry \(entry)") }
}
