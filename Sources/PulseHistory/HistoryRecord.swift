import Foundation

/// One line of a history (JSON Lines, Jepsen-style; HISTORY.md).
///
/// `invoke` starts an operation of a process, and `ok` (it took effect), `fail` (it did not) or
/// `info` (it may have: no answer) ends it; `observe` is something a client saw (a live message, a
/// final read); `fault` is the nemesis acting.
public struct HistoryRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable { case invoke, ok, fail, info, observe, fault }

    /// Position in the file, from 0; records are in time order.
    public var index: Int
    public var timeNs: Int64
    /// A virtual user (`u12`), a subscriber, `harness` or `nemesis`.
    public var process: String
    public var type: Kind
    /// The operation or observation: `hold`, `release`, `extend`, `checkout`, `seat_locked`, ...
    public var f: String
    /// The operation's arguments (invoke) or results (ok), or what was observed. JSON object.
    public var value: [String: HistoryValue]
    public var error: String?
    /// Line number in the file (1-based), for witnesses.
    public var line: Int

    public init(
        index: Int, timeNs: Int64, process: String, type: Kind, f: String, value: [String: HistoryValue] = [:], error: String? = nil, line: Int = 0
    ) {
        self.index = index
        self.timeNs = timeNs
        self.process = process
        self.type = type
        self.f = f
        self.value = value
        self.error = error
        self.line = line
    }

    public func string(_ key: String) -> String? { value[key]?.string }
    public func int(_ key: String) -> Int64? { value[key]?.int }
    public func strings(_ key: String) -> [String] { value[key]?.strings ?? [] }
}

/// A JSON value inside a history record.
public enum HistoryValue: Sendable, Equatable, Codable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case array([HistoryValue])
    case object([String: HistoryValue])
    case null

    public var string: String? { if case .string(let text) = self { text } else { nil } }
    public var int: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value) where value == value.rounded(): Int64(exactly: value)
        default: nil
        }
    }
    public var strings: [String]? {
        if case .array(let items) = self { items.compactMap(\.string) } else { nil }
    }
    public var array: [HistoryValue]? { if case .array(let items) = self { items } else { nil } }
    public var object: [String: HistoryValue]? { if case .object(let fields) = self { fields } else { nil } }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([HistoryValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: HistoryValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }
}

extension HistoryValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(arrayLiteral elements: HistoryValue...) { self = .array(elements) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension HistoryValue {
    /// A list of strings (seats, released seats).
    public static func list(_ strings: [String]) -> HistoryValue { .array(strings.map { .string($0) }) }
}
