/// Messages a client sends on the live WebSocket (SPEC.md, PB-LIVE-3). JSON text frames of the
/// shape `{"type": "...", ...}`; the names match the seed's Socket.IO events one to one.
public enum LiveClientMessage: Sendable, Equatable {
    /// Subscribe to an event; `sinceSeq` asks for the messages after it instead of a snapshot.
    case joinEvent(eventId: String, sinceSeq: Int64?)
    /// Unsubscribe and release the holds this connection acquired for the event.
    case leaveEvent(eventId: String)
    /// Hold one seat for the caller.
    case requestLock(eventId: String, seatId: String)
    /// Release the caller's hold on one seat.
    case releaseLock(eventId: String, seatId: String)

    /// The `type` strings of the client messages.
    public static let typeNames = ["join_event", "leave_event", "request_lock", "release_lock"]
}

/// Why a client message could not be understood; each maps to an `error` reply.
public enum LiveDecodeFailure: Error, Equatable, Sendable {
    case malformedJSON
    case unknownType(String)
    case invalidField(String)

    /// The error code sent back to the client.
    public var code: ErrorCode {
        switch self {
        case .malformedJSON: .malformedJSON
        case .unknownType: .unknownMessageType
        case .invalidField: .validationFailed
        }
    }

    /// A human-readable explanation.
    public var message: String {
        switch self {
        case .malformedJSON: "Message is not a JSON object."
        case .unknownType(let type): "Unknown message type '\(type)'; expected one of \(LiveClientMessage.typeNames.joined(separator: ", "))."
        case .invalidField(let field): "Field '\(field)' is missing or has the wrong type."
        }
    }
}

extension LiveClientMessage: Codable {
    private enum Keys: String, CodingKey { case type, eventId, seatId, sinceSeq }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let type = try container.decode(String.self, forKey: .type)
        let eventId = try container.decode(String.self, forKey: .eventId)
        switch type {
        case "join_event": self = .joinEvent(eventId: eventId, sinceSeq: try container.decodeIfPresent(Int64.self, forKey: .sinceSeq))
        case "leave_event": self = .leaveEvent(eventId: eventId)
        case "request_lock": self = .requestLock(eventId: eventId, seatId: try container.decode(String.self, forKey: .seatId))
        case "release_lock": self = .releaseLock(eventId: eventId, seatId: try container.decode(String.self, forKey: .seatId))
        default: throw LiveDecodeFailure.unknownType(type)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .joinEvent(let eventId, let sinceSeq):
            try container.encode("join_event", forKey: .type)
            try container.encode(eventId, forKey: .eventId)
            try container.encodeIfPresent(sinceSeq, forKey: .sinceSeq)
        case .leaveEvent(let eventId):
            try container.encode("leave_event", forKey: .type)
            try container.encode(eventId, forKey: .eventId)
        case .requestLock(let eventId, let seatId):
            try container.encode("request_lock", forKey: .type)
            try container.encode(eventId, forKey: .eventId)
            try container.encode(seatId, forKey: .seatId)
        case .releaseLock(let eventId, let seatId):
            try container.encode("release_lock", forKey: .type)
            try container.encode(eventId, forKey: .eventId)
            try container.encode(seatId, forKey: .seatId)
        }
    }
}
