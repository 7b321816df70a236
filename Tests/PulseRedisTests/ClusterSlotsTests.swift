import Foundation
import PulseWire
import Testing

@testable import PulseRedis

/// The pieces of a Redis Cluster client that need no cluster of many nodes: key slots, redirections
/// and the slot map, each checked against a real redis-server in cluster mode.
@Suite("Redis Cluster: key slots, redirections and the slot map", .timeLimit(.minutes(5)))
struct ClusterSlotsTests {
    @Test("key slots follow the cluster specification's examples (CRC16 XMODEM, hash tags)")
    func specificationExamples() {
        #expect(ClusterKeySlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(ClusterKeySlot.of("foo") == 12_182)
        #expect(ClusterKeySlot.of("bar") == 5_061)
        #expect(ClusterKeySlot.of("{user1000}.following") == ClusterKeySlot.of("{user1000}.followers"))
        #expect(ClusterKeySlot.of("{user1000}.following") == ClusterKeySlot.of("user1000"))
        #expect(ClusterKeySlot.of("foo{}{bar}") == ClusterKeySlot.of(Array("foo{}{bar}".utf8)), "an empty tag: the whole key")
        #expect(ClusterKeySlot.of("foo{{bar}}zap") == ClusterKeySlot.of("{bar"))
        #expect(ClusterKeySlot.of("foo{bar}{zap}") == ClusterKeySlot.of("bar"))
        #expect(ClusterKeySlot.of("") == 0)
    }

    @Test("redirections read from error replies, and other errors are none")
    func redirections() {
        #expect(ClusterRedirect("MOVED 3999 127.0.0.1:6381") == ClusterRedirect(kind: .moved, slot: 3_999, host: "127.0.0.1", port: 6_381))
        #expect(ClusterRedirect("ASK 3999 10.0.0.2:7000") == ClusterRedirect(kind: .ask, slot: 3_999, host: "10.0.0.2", port: 7_000))
        #expect(ClusterRedirect("MOVED 1 ::1:6379") == ClusterRedirect(kind: .moved, slot: 1, host: "::1", port: 6_379))
        #expect(ClusterRedirect("MOVED 1 :6379") == ClusterRedirect(kind: .moved, slot: 1, host: "", port: 6_379))
        for other in ["ERR unknown command", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1", "ASK 1 h", "MOVED 1 h:0", "TRYAGAIN Multiple keys", ""] {
            #expect(ClusterRedirect(other) == nil, "\(other)")
        }
    }

    /// A redis-server in cluster mode, its node file in a directory of its own, its cluster bus on
    /// a free port of its own.
    static func clusterNode() async throws -> (server: RedisServerProcess, client: RedisClient, directory: String, bus: Int) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pulse-cluster-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The cluster bus port is the port + 10,000 unless set: a test port above 55,535 has none.
        let bus = try await freeLoopbackPort()
        let server = try await RedisServerProcess(arguments: ["--cluster-enabled", "yes", "--cluster-port", "\(bus)", "--dir", directory.path])
        return (server, RedisClient(try RedisWorld.configuration(server)), directory.path, bus)
    }

    @Test("every key's slot is the one a real cluster node computes (CLUSTER KEYSLOT), Pulse's keys, braces and bytes included")
    func slotsAgreeWithRedis() async throws {
        let (server, client, directory, _) = try await Self.clusterNode()
        defer {
            Task { await client.close() }
            server.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
        var state: UInt64 = 99
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var keys: [[UInt8]] = ["pulse:{ev-1}:seats", "pulse:{ev-1}:log", "{}", "{", "}", "a{b}c", "a{}b{c}", "x{{y}}"].map { Array($0.utf8) }
        for _ in 0..<1_500 {
            let alphabet = Array("ab{}:01-é".utf8)
            keys.append((0..<Int(next() % 12)).map { _ in next() % 4 == 0 ? UInt8(next() % 256) : alphabet[Int(next()) % alphabet.count] })
        }
        for key in keys {
            let expected = try await client.send([Array("CLUSTER".utf8), Array("KEYSLOT".utf8), key]).int
            #expect(Int64(ClusterKeySlot.of(key)) == expected, "\(key)")
        }
    }

    @Test("two real nodes: CLUSTER SHARDS read into the slot map, and a node's MOVED and ASK replies read as the map says")
    func twoNodes() async throws {
        let (first, one, firstDirectory, _) = try await Self.clusterNode()
        let (second, other, secondDirectory, secondBus) = try await Self.clusterNode()
        defer {
            Task {
                await one.close()
                await other.close()
            }
            first.stop()
            second.stop()
            try? FileManager.default.removeItem(atPath: firstDirectory)
            try? FileManager.default.removeItem(atPath: secondDirectory)
        }
        try await one.send("CLUSTER", "ADDSLOTSRANGE", "0", "8191")
        try await other.send("CLUSTER", "ADDSLOTSRANGE", "8192", "16383")
        try await one.send("CLUSTER", "MEET", "127.0.0.1", "\(second.port)", "\(secondBus)")
        // The two learn of each other by gossip: bounded by the work (a few exchanges), not by a pace.
        var map: ClusterSlotMap?
        for _ in 0..<300 {
            let state = try await one.send("CLUSTER", "INFO").string ?? ""
            let read = try ClusterSlotMap(shards: try await one.send("CLUSTER", "SHARDS"))
            if state.contains("cluster_state:ok"), read.masters.count == 2, read.coversEverySlot {
                map = read
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let slots = try #require(map, "the two nodes formed one cluster")
        let firstID = try await one.send("CLUSTER", "MYID").string
        let secondID = try await other.send("CLUSTER", "MYID").string
        #expect(slots.master(ofSlot: 0) == .init(id: firstID ?? "", host: "127.0.0.1", port: first.port))
        #expect(slots.master(ofSlot: 8_191)?.port == first.port)
        #expect(slots.master(ofSlot: 8_192) == .init(id: secondID ?? "", host: "127.0.0.1", port: second.port))
        #expect(slots.master(ofSlot: 16_383)?.port == second.port)

        // A key of the second node's, asked of the first: MOVED to where the map says.
        let key = (0...).lazy.map { "pulse:{e\($0)}:seats" }.first { ClusterKeySlot.of($0) >= 8_192 }!
        let moved = await #expect(throws: RedisError.self) { try await one.send("GET", key) }
        guard case .server(let message) = moved else {
            Issue.record("no error reply: \(String(describing: moved))")
            return
        }
        let redirect = try #require(ClusterRedirect(message), "\(message)")
        #expect(redirect == ClusterRedirect(kind: .moved, slot: ClusterKeySlot.of(key), host: "127.0.0.1", port: second.port))
        #expect(slots.master(ofSlot: redirect.slot)?.port == redirect.port)
        var updated = slots
        updated.apply(redirect)
        #expect(updated == slots, "a MOVED to the master the map names changes nothing")

        // A slot of the first node's migrating to the second: a key it does not hold is asked of the second.
        let migrating = (0...).lazy.map { "pulse:{m\($0)}:seats" }.first { ClusterKeySlot.of($0) < 8_192 }!
        let slot = ClusterKeySlot.of(migrating)
        try await other.send("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", firstID ?? "")
        try await one.send("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", secondID ?? "")
        let asked = await #expect(throws: RedisError.self) { try await one.send("GET", migrating) }
        guard case .server(let askMessage) = asked else {
            Issue.record("no error reply: \(String(describing: asked))")
            return
        }
        #expect(ClusterRedirect(askMessage) == ClusterRedirect(kind: .ask, slot: slot, host: "127.0.0.1", port: second.port))
        var unchanged = slots
        unchanged.apply(try #require(ClusterRedirect(askMessage)))
        #expect(unchanged == slots, "an ASK leaves the map as it is")

        // The slot moved for good: a MOVED to a node the map places elsewhere moves that slot alone.
        updated.apply(ClusterRedirect(kind: .moved, slot: slot, host: "127.0.0.1", port: second.port))
        #expect(updated.master(ofSlot: slot)?.port == second.port)
        #expect(updated.master(ofSlot: slot == 0 ? 1 : 0)?.port == first.port)
    }

    @Test("a reply that is not CLUSTER SHARDS is refused, a range out of bounds too")
    func malformedShards() {
        #expect(throws: RedisError.self) { try ClusterSlotMap(shards: .status("OK")) }
        #expect(throws: RedisError.self) { try ClusterSlotMap(shards: .array([.array([.bulk(Array("slots".utf8))])])) }
        let node: RESPValue = .array(
            ["id", "n1", "port", "7000", "ip", "127.0.0.1", "endpoint", "127.0.0.1", "role", "master", "health", "online"].map {
                .bulk(Array($0.utf8))
            })
        let shard = { (start: Int64, end: Int64) -> RESPValue in
            .array([.bulk(Array("slots".utf8)), .array([.integer(start), .integer(end)]), .bulk(Array("nodes".utf8)), .array([node])])
        }
        #expect(throws: RedisError.self) { try ClusterSlotMap(shards: .array([shard(0, 16_384)])) }
        #expect(throws: RedisError.self) { try ClusterSlotMap(shards: .array([shard(5, 4)])) }
        let half = try? ClusterSlotMap(shards: .array([shard(0, 100)]))
        #expect(half?.master(ofSlot: 100)?.port == 7_000 && half?.master(ofSlot: 101) == nil && half?.coversEverySlot == false)
    }
}
