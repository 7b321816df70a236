/// Why a Redis command did not produce a reply.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error reply (for example `NOSCRIPT ...` or `WRONGTYPE ...`).
    case server(String)
    /// No connection could be made, or the connection closed before the reply arrived. A write
    /// command may or may not have taken effect.
    case unavailable(String)
    /// No reply within the command timeout; the command may or may not have taken effect. The
    /// connection is closed, since later replies could no longer be matched to their commands.
    case timeout
    /// The server sent bytes that are not RESP.
    case protocolError(String)
    /// A `redis://` URL that cannot be used.
    case invalidURL(String)

    public var description: String {
        switch self {
        case .server(let message): "Redis error: \(message)"
        case .unavailable(let detail): "Redis unavailable: \(detail)"
        case .timeout: "Redis did not answer in time"
        case .protocolError(let detail): "Redis protocol error: \(detail)"
        case .invalidURL(let detail): "invalid Redis URL: \(detail)"
        }
    }

    /// Whether the command might have been executed by the server.
    public var outcomeUnknown: Bool {
        switch self {
        case .unavailable, .timeout: true
        case .server, .protocolError, .invalidURL: false
        }
    }
}
