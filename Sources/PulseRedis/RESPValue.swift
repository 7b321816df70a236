/// A Redis reply (RESP2), as hiredis' reader parses it.
public enum RESPValue: Sendable, Equatable {
    /// A simple string such as `OK` or `PONG`.
    case status(String)
    /// An error reply such as `NOSCRIPT No matching script`.
    case error(String)
    case integer(Int64)
    /// A bulk string (binary safe).
    case bulk([UInt8])
    /// A nil bulk string or nil array.
    case null
    case array([RESPValue])

    /// The value as text: bulk strings and statuses decoded as UTF-8, integers in decimal.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The value as an integer: integers, or bulk strings holding a decimal integer.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        default: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }
}
