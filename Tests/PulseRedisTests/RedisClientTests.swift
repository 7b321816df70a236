import Foundation
import NIOCore
import NIOEmbedded
import PulseWire
import Testing

@testable import PulseRedis

@Suite("Redis client against a real redis-server", .timeLimit(.minutes(10)))
struct RedisClientTests {
    @Test("commands, binary values and error replies")
    func basics() async throws {
        let server = try await RedisServerProcess()
        let client = RedisClient(try RedisWorld.configuration(server))
        defer { Task { await client.close() } }
        #expect(try await client.send("PING") == .status("PONG"))
        try await client.send([Array("SET".utf8), Array("bin".utf8), [0, 1, 13, 10, 255]])
        #expect(try await client.send("GET", "bin") == .bulk([0, 1, 13, 10, 255]))
        #expect(try await client.send("GET", "missing") == .null)
        await #expect(throws: RedisError.server("ERR unknown command 'NOPE', with args beginning with: ")) { try await client.send("NOPE") }
        #expect(try await client.send("PING") == .status("PONG"), "an error reply leaves the connection usable")
    }

    /// A port from the ephemeral range may become the source port of any outgoing connection
    /// before the server binds it: on a busy run every redis-server then failed to start.
    @Test("ports for test servers are free, never handed out twice, and outside the kernel's ephemeral range")
    func serverPorts() async throws {
        var ports: Set<Int> = []
        for _ in 0..<200 { ports.insert(try await freeLoopbackPort()) }
        #expect(ports.count == 200)
        let ephemeral = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8).split(whereSeparator: \.isWhitespace)
            .compactMap { Int($0) }
        if ephemeral.count == 2, ephemeral[0] > 10_000 || ephemeral[1] < 65_535 {
            #expect(ports.allSatisfy { !(ephemeral[0]...ephemeral[1]).contains($0) }, "\(ports.sorted().prefix(5))")
        }
    }

    @Test("a redis-server that cannot start says why")
    func startFailureSaysWhy() async throws {
        let error = await #expect(throws: APIError.self) { _ = try await RedisServerProcess(arguments: ["--no-such-option", "1"]) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("no-such-option"))
    }

    @Test("thousands of concurrent commands are pipelined on few connections and each gets its own reply")
    func pipelining() async throws {
        let server = try await RedisServerProcess()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connectionCount = 2
        let client = RedisClient(configuration)
        defer { Task { await client.close() } }
        let values = try await withThrowingTaskGroup(of: (Int, Int64?).self) { group in
            for index in 0..<3000 {
                group.addTask { (index, try await client.send("ECHO", String(index)).int) }
            }
            return try await group.reduce(into: [Int: Int64]()) { $0[$1.0] = $1.1 }
        }
        #expect(values.count == 3000)
        #expect(values.allSatisfy { Int64($0.key) == $0.value })
        let counters = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<1000 { group.addTask { try await client.send("INCR", "counter").int ?? -1 } }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(Set(counters) == Set(1...1000))
        let clients = try await client.send("CLIENT", "LIST").string ?? ""
        #expect(clients.split(separator: "\n").count == 2, "commands shared two connections")
    }

    @Test("password, ACL user and database come from the URL; a wrong password is refused")
    func authentication() async throws {
        let server = try await RedisServerProcess(arguments: ["--requirepass", "top-secret"])
        let admin = RedisClient(try RedisWorld.configuration(url: "redis://:top-secret@127.0.0.1:\(server.port)"))
        defer { Task { await admin.close() } }
        try await admin.send("ACL", "SETUSER", "pulse", "on", ">pulse-pass", "~*", "+@all")
        let user = RedisClient(try RedisWorld.configuration(url: "redis://pulse:pulse-pass@127.0.0.1:\(server.port)/5"))
        defer { Task { await user.close() } }
        try await user.send("SET", "where", "db5")
        #expect(try await user.send("ACL", "WHOAMI") == .bulk(Array("pulse".utf8)))
        #expect(try await admin.send("GET", "where") == .null, "database 0 does not have it")
        let adminOnFive = RedisClient(try RedisWorld.configuration(url: "redis://:top-secret@127.0.0.1:\(server.port)/5"))
        defer { Task { await adminOnFive.close() } }
        #expect(try await adminOnFive.send("GET", "where").string == "db5")

        let anonymous = RedisClient(try RedisConfiguration(url: server.url))
        defer { Task { await anonymous.close() } }
        await #expect(throws: RedisError.self) { try await anonymous.send("GET", "where") }
        let wrong = RedisClient(try RedisConfiguration(url: "redis://:wrong@127.0.0.1:\(server.port)"))
        defer { Task { await wrong.close() } }
        do {
            try await wrong.send("PING")
            Issue.record("a wrong password was accepted")
        } catch let error as RedisError {
            guard case .server(let message) = error else { throw error }
            #expect(message.contains("WRONGPASS"))
        }
    }

    @Test("a stalled server times commands out with an unknown outcome; the client recovers when it resumes")
    func timeoutAndRecovery() async throws {
        let server = try await RedisServerProcess()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connectionCount = 1
        configuration.commandTimeout = .milliseconds(300)
        let client = RedisClient(configuration)
        defer { Task { await client.close() } }
        // The 300 ms timeout is tight for a loaded machine (CI starts every suite at once): the
        // connection is made before the stall, and reads after it are retried, for up to a
        // minute (10 s ran out under a CPU load; each try returns as soon as one succeeds).
        try await eventually(seconds: 60) { try await client.send("PING") == .status("PONG") }
        server.pause()
        let error = await #expect(throws: RedisError.self) { try await client.send("SET", "k", "v") }
        #expect(error == .timeout)
        #expect(error?.outcomeUnknown == true)
        server.resume()
        try await eventually(seconds: 60) { try await client.send("PING") == .status("PONG") }
        // Its outcome was rightly unknown: written before its timeout, the SET took effect once
        // the server resumed; timed out before its write (a starved thread), it was never sent.
        let value = try await client.send("GET", "k")
        #expect(value == .bulk(Array("v".utf8)) || value == .null, "\(value)")
    }

    /// A loaded run hung here: the thread that queued a SET lost the CPU for longer than the
    /// timeout, the timeout came before the write and was dropped, and the command then waited
    /// forever on a stalled server.
    @Test("a command whose timeout comes before its write fails with a timeout, unsent, and the connection carries the next one")
    func timeoutBeforeWrite() throws {
        let channel = EmbeddedChannel(handler: RedisChannelHandler())
        defer { _ = try? channel.finish() }
        var results: [UInt64: Result<RESPValue, any Error>] = [:]
        func write(_ id: UInt64) {
            let promise = channel.eventLoop.makePromise(of: RESPValue.self)
            promise.futureResult.whenComplete { results[id] = $0 }
            channel.writeAndFlush(RedisRequest(id: id, arguments: [Array("GET".utf8), Array("k".utf8)], promise: promise), promise: nil)
        }
        channel.triggerUserOutboundEvent(RedisCommandTimedOut(id: 1), promise: nil)
        write(1)
        guard case .failure(let error as RedisError)? = results[1] else {
            Issue.record("the command is still waiting: \(String(describing: results[1]))")
            return
        }
        #expect(error == .timeout)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "never sent")
        write(2)
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil, "the next command goes out")
        try channel.writeInbound(ByteBuffer(string: "$1\r\nv\r\n"))
        #expect(try results[2]?.get() == .bulk(Array("v".utf8)), "and gets its reply")
        channel.triggerUserOutboundEvent(RedisCommandTimedOut(id: 2), promise: nil)
        write(3)
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil, "a timeout of a command already answered changes nothing")
    }

    @Test("a stopped server fails commands fast as unavailable; the client reconnects when it is back, to a process with a new run id")
    func restart() async throws {
        let server = try await RedisServerProcess()
        let client = RedisClient(try RedisConfiguration(url: server.url))
        defer { Task { await client.close() } }
        try await client.send("SET", "k", "v")
        let before = try await client.dedicatedConnection()
        let runID = before.serverRunID
        await before.close()
        #expect(runID.count == 40 && runID.allSatisfy(\.isHexDigit), "the run id from INFO server: '\(runID)'")
        #expect(
            try await client.send(boundToServer: { id in [Array("ECHO".utf8), Array(id.utf8)] }).string == runID,
            "a bound command sees its connection's run id")
        server.stop()
        let error = await #expect(throws: RedisError.self) { try await client.send("GET", "k") }
        if case .unavailable = error {} else { Issue.record("expected unavailable, got \(String(describing: error))") }
        try await server.start()
        try await eventually(seconds: 60) { try await client.send("PING") == .status("PONG") }
        #expect(try await client.send("GET", "k") == .null, "a restarted server without persistence lost its data")
        let after = try await client.dedicatedConnection()
        #expect(!after.serverRunID.isEmpty && after.serverRunID != runID, "a restarted Redis is another process")
        await after.close()
    }
}

/// Retries `condition` (errors count as false) for up to `seconds`.
func eventually(seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    Issue.record("condition not met within \(seconds) s")
}
