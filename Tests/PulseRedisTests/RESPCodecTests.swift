import NIOCore
import Testing

@testable import PulseRedis

@Suite("RESP through hiredis: command formatting and reply reading")
struct RESPCodecTests {
    @Test("commands are formatted as binary-safe RESP multi-bulk")
    func formatting() {
        var buffer = ByteBuffer()
        RESPCommandFormatter.write([Array("SET".utf8), Array("k".utf8), [0, 13, 10, 255], []], into: &buffer)
        #expect(
            Array(buffer.readableBytesView) == Array("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n$0\r\n\r\n".utf8))
    }

    @Test("replies of every type are read, also when they arrive one byte at a time")
    func reading() throws {
        let wire = "+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n*3\r\n:1\r\n*2\r\n$1\r\na\r\n$0\r\n\r\n$-1\r\n"
        let expected: [RESPValue] = [
            .status("OK"), .error("ERR wrong"), .integer(-42), .bulk(Array("he\r\no".utf8)), .null, .null,
            .array([.integer(1), .array([.bulk(Array("a".utf8)), .bulk([])]), .null]),
        ]
        let whole = RESPReplyReader()
        try whole.feed(ByteBuffer(string: wire))
        var replies: [RESPValue] = []
        while let reply = try whole.next() { replies.append(reply) }
        #expect(replies == expected)

        let trickle = RESPReplyReader()
        var trickled: [RESPValue] = []
        for byte in wire.utf8 {
            try trickle.feed(ByteBuffer(bytes: [byte]))
            while let reply = try trickle.next() { trickled.append(reply) }
        }
        #expect(trickled == expected)
    }

    @Test("bytes that are not RESP are a protocol error")
    func garbage() throws {
        let reader = RESPReplyReader()
        try reader.feed(ByteBuffer(string: "hello\r\n"))
        #expect(throws: RedisError.self) { try reader.next() }
    }

    @Test("redis:// URLs give host, port, user, password, database and timeouts; other URLs and unknown parameters are refused")
    func urls() throws {
        let full = try RedisConfiguration(url: "redis://pulse:s%40cret@10.0.0.5:6380/3")
        #expect(full.host == "10.0.0.5")
        #expect(full.port == 6380)
        #expect(full.username == "pulse")
        #expect(full.password == "s@cret")
        #expect(full.database == 3)
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "secret")
        #expect(passwordOnly.port == 6379)
        #expect(passwordOnly.database == 0)
        #expect(passwordOnly.commandTimeout == .seconds(2) && passwordOnly.connectTimeout == .seconds(1), "the defaults")
        let patient = try RedisConfiguration(url: "redis://localhost:6380?command_timeout=15&connect_timeout=0.5")
        #expect(patient.commandTimeout == .seconds(15) && patient.connectTimeout == .milliseconds(500) && patient.port == 6380)
        for bad in [
            "http://localhost", "redis://", "redis://localhost/abc", "redis://localhost:0", "rediss://localhost", "not a url",
            "redis://localhost?command_timeout=0", "redis://localhost?connect_timeout=abc", "redis://localhost?timeout=5",
            "redis://localhost?command_timeout=nan", "redis://localhost?command_timeout",
        ] {
            #expect(throws: RedisError.self, "\(bad)") { try RedisConfiguration(url: bad) }
        }
    }
}
