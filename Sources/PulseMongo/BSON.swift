import CMongoc

/// A BSON value of the kinds Pulse stores. Encoded and decoded by libbson (`bson_append_*`,
/// `bson_iter_*`); nothing here writes BSON bytes itself.
public indirect enum BSONValue: Sendable, Equatable {
    case string(String)
    case int32(Int32)
    case int64(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case document(BSONDocument)
    case array([BSONValue])

    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var document: BSONDocument? { if case .document(let value) = self { value } else { nil } }
    public var array: [BSONValue]? { if case .array(let value) = self { value } else { nil } }

    /// Any integer kind (MongoDB answers counts as int32 or int64, and `$inc` keeps the stored kind).
    public var int64: Int64? {
        switch self {
        case .int32(let value): Int64(value)
        case .int64(let value): value
        case .double(let value) where value.rounded() == value: Int64(exactly: value)
        default: nil
        }
    }
}

extension BSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(dictionaryLiteral elements: (String, BSONValue)...) {
        self = .document(BSONDocument(elements.map { BSONDocument.Field(key: $0.0, value: $0.1) }))
    }
    public init(arrayLiteral elements: BSONValue...) { self = .array(elements) }
    public init(integerLiteral value: Int64) { self = .int64(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension BSONValue {
    /// `value`, or null when it is nil.
    public static func optional(_ value: String?) -> BSONValue { value.map(BSONValue.string) ?? .null }
    public static func strings(_ values: [String]) -> BSONValue { .array(values.map(BSONValue.string)) }
    public static func int(_ value: Int) -> BSONValue { .int64(Int64(value)) }
}

/// An ordered BSON document (field order matters to MongoDB in sort and index specifications).
public struct BSONDocument: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: BSONValue
    }

    public var fields: [Field]

    public init(_ fields: [Field] = []) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, BSONValue)...) { fields = elements.map { Field(key: $0.0, value: $0.1) } }

    /// The first field named `key`; setting appends a new field or replaces the first one.
    public subscript(key: String) -> BSONValue? {
        get { fields.first { $0.key == key }?.value }
        set {
            let index = fields.firstIndex { $0.key == key }
            switch (index, newValue) {
            case (let index?, let value?): fields[index].value = value
            case (let index?, nil): fields.remove(at: index)
            case (nil, let value?): fields.append(Field(key: key, value: value))
            case (nil, nil): break
            }
        }
    }
}

// MARK: libbson

extension BSONDocument {
    /// A new heap `bson_t` with these fields; the caller destroys it (`bson_destroy`).
    func makeBSON() -> OpaquePointer {
        let bson = bson_new()!
        for field in fields { Self.append(field.value, key: field.key, to: bson) }
        return bson
    }

    /// Runs `body` with these fields as a `bson_t`, destroyed after.
    func withBSON<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        let bson = makeBSON()
        defer { bson_destroy(bson) }
        return try body(bson)
    }

    private static func append(_ value: BSONValue, key: String, to bson: OpaquePointer) {
        switch value {
        case .string(let string):
            var string = string
            string.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { _ = bson_append_utf8(bson, key, -1, $0.baseAddress, Int32(bytes.count)) }
            }
        case .int32(let number): bson_append_int32(bson, key, -1, number)
        case .int64(let number): bson_append_int64(bson, key, -1, number)
        case .double(let number): bson_append_double(bson, key, -1, number)
        case .bool(let flag): bson_append_bool(bson, key, -1, flag)
        case .null: bson_append_null(bson, key, -1)
        case .document(let document):
            let child = document.makeBSON()
            defer { bson_destroy(child) }
            bson_append_document(bson, key, -1, child)
        case .array(let values):
            let child = BSONDocument(values.enumerated().map { Field(key: String($0.offset), value: $0.element) }).makeBSON()
            defer { bson_destroy(child) }
            bson_append_array(bson, key, -1, child)
        }
    }

    /// The fields of `bson` (kinds Pulse does not store, such as ObjectId or timestamps, are skipped).
    init(reading bson: OpaquePointer) {
        let iterator = pulse_bson_iter_new()!
        defer { pulse_bson_iter_free(iterator) }
        self.init(bson_iter_init(iterator, bson) ? Self.fields(iterator) : [])
    }

    private static func fields(_ iterator: OpaquePointer) -> [Field] {
        var fields: [Field] = []
        while bson_iter_next(iterator) {
            let key = String(cString: bson_iter_key(iterator))
            if let value = value(iterator) { fields.append(Field(key: key, value: value)) }
        }
        return fields
    }

    private static func value(_ iterator: OpaquePointer) -> BSONValue? {
        switch bson_iter_type(iterator) {
        case BSON_TYPE_UTF8:
            var length: UInt32 = 0
            guard let bytes = bson_iter_utf8(iterator, &length) else { return .string("") }
            return .string(String(decoding: UnsafeRawBufferPointer(start: bytes, count: Int(length)), as: UTF8.self))
        case BSON_TYPE_INT32: return .int32(bson_iter_int32(iterator))
        case BSON_TYPE_INT64: return .int64(bson_iter_int64(iterator))
        case BSON_TYPE_DOUBLE: return .double(bson_iter_double(iterator))
        case BSON_TYPE_BOOL: return .bool(bson_iter_bool(iterator))
        case BSON_TYPE_NULL: return .null
        case BSON_TYPE_DOCUMENT, BSON_TYPE_ARRAY:
            let isArray = bson_iter_type(iterator) == BSON_TYPE_ARRAY
            let child = pulse_bson_iter_new()!
            defer { pulse_bson_iter_free(child) }
            guard bson_iter_recurse(iterator, child) else { return nil }
            let fields = fields(child)
            return isArray ? .array(fields.map(\.value)) : .document(BSONDocument(fields))
        default: return nil
        }
    }
}
