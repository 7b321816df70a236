/// Why a seat stopped being held (PB-LIVE-6).
public enum ReleaseReason: String, Codable, Sendable {
    /// The owner released it (REST, `release_lock` or `leave_event`).
    case released
    /// The hold's TTL passed and the server expired it.
    case expired
    /// The owner's live connection that acquired it closed.
    case disconnected
    /// The booking of these seats was cancelled (only in `seats_released`, PB-CHECKOUT-10).
    case cancelled
}

/// One state change of an event, numbered by the event's `seq` (PB-LIVE-5). These are exactly
/// the messages broadcast to an event's subscribers and kept in its replay log.
public enum SeatChange: Sendable, Equatable, Codable {
    case seatLocked(eventId: String, seatId: String, lockedBy: String, seq: Int64)
    case seatReleased(eventId: String, seatId: String, reason: ReleaseReason, seq: Int64)
    case seatsBooked(eventId: String, seatIds: [String], seq: Int64)
    /// Booked seats are on sale again: their booking was cancelled (PB-CHECKOUT-10; reason `cancelled`).
    case seatsReleased(eventId: String, seatIds: [String], reason: ReleaseReason, seq: Int64)
    /// The event was deleted (PB-EVENT-7): its holds are gone with it, and it is the event's last change.
    case eventDeleted(eventId: String, seq: Int64)

    /// The change's sequence number within its event.
    public var seq: Int64 {
        switch self {
        case .seatLocked(_, _, _, let seq), .seatReleased(_, _, _, let seq), .seatsBooked(_, _, let seq), .seatsReleased(_, _, _, let seq),
            .eventDeleted(_, let seq):
            seq
        }
    }

    /// The event the change belongs to.
    public var eventId: String {
        switch self {
        case .seatLocked(let id, _, _, _), .seatReleased(let id, _, _, _), .seatsBooked(let id, _, _), .seatsReleased(let id, _, _, _),
            .eventDeleted(let id, _):
            id
        }
    }

    private enum Keys: String, CodingKey { case type, eventId, seatId, seatIds, lockedBy, reason, seq }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let eventId = try c.decode(String.self, forKey: .eventId)
        let seq = try c.decode(Int64.self, forKey: .seq)
        switch try c.decode(String.self, forKey: .type) {
        case "seat_locked":
            self = .seatLocked(
                eventId: eventId, seatId: try c.decode(String.self, forKey: .seatId), lockedBy: try c.decode(String.self, forKey: .lockedBy), seq: seq
            )
        case "seat_released":
            self = .seatReleased(
                eventId: eventId, seatId: try c.decode(String.self, forKey: .seatId), reason: try c.decode(ReleaseReason.self, forKey: .reason),
                seq: seq)
        case "seats_booked":
            self = .seatsBooked(eventId: eventId, seatIds: try c.decode([String].self, forKey: .seatIds), seq: seq)
        case "seats_released":
            self = .seatsReleased(
                eventId: eventId, seatIds: try c.decode([String].self, forKey: .seatIds), reason: try c.decode(ReleaseReason.self, forKey: .reason),
                seq: seq)
        case "event_deleted":
            self = .eventDeleted(eventId: eventId, seq: seq)
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "not a seat change: \(other)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .seatLocked(let eventId, let seatId, let lockedBy, let seq):
            try c.encode("seat_locked", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seatId, forKey: .seatId)
            try c.encode(lockedBy, forKey: .lockedBy)
            try c.encode(seq, forKey: .seq)
        case .seatReleased(let eventId, let seatId, let reason, let seq):
            try c.encode("seat_released", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seatId, forKey: .seatId)
            try c.encode(reason, forKey: .reason)
            try c.encode(seq, forKey: .seq)
        case .seatsBooked(let eventId, let seatIds, let seq):
            try c.encode("seats_booked", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seatIds, forKey: .seatIds)
            try c.encode(seq, forKey: .seq)
        case .seatsReleased(let eventId, let seatIds, let reason, let seq):
            try c.encode("seats_released", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seatIds, forKey: .seatIds)
            try c.encode(reason, forKey: .reason)
            try c.encode(seq, forKey: .seq)
        case .eventDeleted(let eventId, let seq):
            try c.encode("event_deleted", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seq, forKey: .seq)
        }
    }
}

/// Messages the server sends on the live WebSocket (PB-LIVE-4).
public enum LiveServerMessage: Sendable, Equatable, Codable {
    /// The full seat map of an event as of `seq`; the reply to `join_event` without a usable `sinceSeq`.
    case snapshot(eventId: String, seq: Int64, seats: [SeatResource])
    /// Sent after the replayed changes when `join_event` carried a usable `sinceSeq`.
    case joined(eventId: String, seq: Int64)
    /// A numbered state change.
    case change(SeatChange)
    /// Reply to a successful `request_lock`, to the caller only.
    case lockAcquired(eventId: String, seatId: String, hold: HoldResource)
    /// Reply to a refused `request_lock`, to the caller only.
    case lockFailed(eventId: String, seatId: String, code: ErrorCode, message: String)
    /// Any other error, including malformed messages; the connection stays open.
    case error(code: ErrorCode, message: String)

    private enum Keys: String, CodingKey { case type, eventId, seatId, seq, seats, hold, code, message }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        switch try c.decode(String.self, forKey: .type) {
        case "snapshot":
            self = .snapshot(
                eventId: try c.decode(String.self, forKey: .eventId), seq: try c.decode(Int64.self, forKey: .seq),
                seats: try c.decode([SeatResource].self, forKey: .seats))
        case "joined":
            self = .joined(eventId: try c.decode(String.self, forKey: .eventId), seq: try c.decode(Int64.self, forKey: .seq))
        case "lock_acquired":
            self = .lockAcquired(
                eventId: try c.decode(String.self, forKey: .eventId), seatId: try c.decode(String.self, forKey: .seatId),
                hold: try c.decode(HoldResource.self, forKey: .hold))
        case "lock_failed":
            self = .lockFailed(
                eventId: try c.decode(String.self, forKey: .eventId), seatId: try c.decode(String.self, forKey: .seatId),
                code: try c.decode(ErrorCode.self, forKey: .code), message: try c.decode(String.self, forKey: .message))
        case "error":
            self = .error(code: try c.decode(ErrorCode.self, forKey: .code), message: try c.decode(String.self, forKey: .message))
        default:
            self = .change(try SeatChange(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .snapshot(let eventId, let seq, let seats):
            try c.encode("snapshot", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seq, forKey: .seq)
            try c.encode(seats, forKey: .seats)
        case .joined(let eventId, let seq):
            try c.encode("joined", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seq, forKey: .seq)
        case .change(let change):
            try change.encode(to: encoder)
        case .lockAcquired(let eventId, let seatId, let hold):
            try c.encode("lock_acquired", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seatId, forKey: .seatId)
            try c.encode(hold, forKey: .hold)
        case .lockFailed(let eventId, let seatId, let code, let message):
            try c.encode("lock_failed", forKey: .type)
            try c.encode(eventId, forKey: .eventId)
            try c.encode(seatId, forKey: .seatId)
            try c.encode(code, forKey: .code)
            try c.encode(message, forKey: .message)
        case .error(let code, let message):
            try c.encode("error", forKey: .type)
            try c.encode(code, forKey: .code)
            try c.encode(message, forKey: .message)
        }
    }
}
