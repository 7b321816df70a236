import CHiredis
import NIOCore

/// hiredis' command formatter: one command as RESP bytes.
enum RESPCommandFormatter {
    /// Appends `arguments` (the command name first) to `buffer` as one RESP multi-bulk command.
    static func write(_ arguments: [[UInt8]], into buffer: inout ByteBuffer) {
        precondition(!arguments.isEmpty && arguments.count <= Int(Int32.max), "a Redis command needs a name")
        var formatted: UnsafeMutablePointer<CChar>?
        let length = withArgumentPointers(arguments) { pointers, lengths in
            redisFormatCommandArgv(&formatted, Int32(arguments.count), pointers, lengths)
        }
        guard length >= 0, let formatted else { preconditionFailure("hiredis could not format a command (out of memory)") }
        defer { redisFreeCommand(formatted) }
        buffer.writeBytes(UnsafeRawBufferPointer(start: formatted, count: Int(length)))
    }

    private static func withArgumentPointers<T>(
        _ arguments: [[UInt8]], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T
    ) -> T {
        let total = arguments.reduce(0) { $0 + $1.count }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { storage.deallocate() }
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        pointers.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        var offset = 0
        for argument in arguments {
            argument.withUnsafeBytes { bytes in
                if bytes.count > 0 { (storage + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            pointers.append(UnsafePointer((storage + offset).assumingMemoryBound(to: CChar.self)))
            lengths.append(argument.count)
            offset += argument.count
        }
        return pointers.withUnsafeMutableBufferPointer { pointerBuffer in
            lengths.withUnsafeBufferPointer { body(pointerBuffer.baseAddress!, $0.baseAddress!) }
        }
    }
}

/// hiredis' reply reader: feed it bytes as they arrive, take complete replies out.
/// Not thread-safe: one per connection, used on its event loop.
final class RESPReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() {
        guard let reader = redisReaderCreate() else { preconditionFailure("hiredis could not create a reader (out of memory)") }
        self.reader = reader
    }

    deinit { redisReaderFree(reader) }

    /// Hands `buffer`'s readable bytes to the reader. Throws ``RedisError/protocolError``.
    func feed(_ buffer: ByteBuffer) throws {
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        guard status == REDIS_OK else { throw RedisError.protocolError(errorText) }
    }

    /// The next complete reply, or nil when more bytes are needed. Throws ``RedisError/protocolError``.
    func next() throws -> RESPValue? {
        var reply: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &reply) == REDIS_OK else { throw RedisError.protocolError(errorText) }
        guard let reply else { return nil }
        defer { freeReplyObject(reply) }
        return Self.convert(reply.assumingMemoryBound(to: redisReply.self))
    }

    private var errorText: String {
        withUnsafeBytes(of: &reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let value = reply.pointee
        func bytes() -> [UInt8] {
            guard let str = value.str, value.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: value.len))
        }
        switch value.type {
        case REDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER: return .integer(Int64(value.integer))
        case REDIS_REPLY_STRING: return .bulk(bytes())
        case REDIS_REPLY_ARRAY:
            guard let elements = value.element else { return .array([]) }
            return .array((0..<value.elements).map { convert(elements[$0]!) })
        default: return .null
        }
    }
}
