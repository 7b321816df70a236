import Foundation
import PulseWire
import Testing

@testable import PulseRedis

/// Three real redis-server masters in cluster mode, slots split evenly, stopped when freed.
final class TestCluster: @unchecked Sendable {
    let nodes: [RedisServerProcess]
    let clients: [RedisClient]
    let ids: [String]
    private let directories: [String]

    private init(nodes: [RedisServerProcess], clients: [RedisClient], ids: [String], directories: [String]) {
        self.nodes = nodes
        self.clients = clients
        self.ids = ids
        self.directories = directories
    }

    /// Starts `count` masters, gives each an even share of the slots, and waits until every node
    /// says the cluster is `ok` and knows every master (bounded by exchanges, not by a pace).
    static func start(masters count: Int = 3) async throws -> TestCluster {
        var nodes: [RedisServerProcess] = []
        var clients: [RedisClient] = []
        var directories: [String] = []
        var buses: [Int] = []
        for _ in 0..<count {
            let started = try await ClusterSlotsTests.clusterNode()
            nodes.append(started.server)
            clients.append(started.client)
            directories.append(started.directory)
            buses.append(started.bus)
        }
        var ids: [String] = []
        for (position, client) in clients.enumerated() {
            let first = position * ClusterKeySlot.count / count
            let last = (position + 1) * ClusterKeySlot.count / count - 1
            try await client.send("CLUSTER", "ADDSLOTSRANGE", "\(first)", "\(last)")
            ids.append(try await client.send("CLUSTER", "MYID").string ?? "")
            if position > 0 { try await clients[0].send("CLUSTER", "MEET", "127.0.0.1", "\(nodes[position].port)", "\(buses[position])") }
        }
        let cluster = TestCluster(nodes: nodes, clients: clients, ids: ids, directories: directories)
        for _ in 0..<600 {
            var formed = true
            for client in clients {
                let info = try await client.send("CLUSTER", "INFO").string ?? ""
                let map = try ClusterSlotMap(shards: try await client.send("CLUSTER", "SHARDS"))
                formed = formed && info.contains("cluster_state:ok") && map.masters.count == count && map.coversEverySlot
            }
            if formed { return cluster }
            try await Task.sleep(for: .milliseconds(100))
        }
        cluster.stop()
        throw RedisError.unavailable("the test cluster never formed")
    }

    /// The position of the node serving `slot`.
    func owner(of slot: Int) -> Int { (0..<nodes.count).first { slot < ($0 + 1) * ClusterKeySlot.count / nodes.count }! }

    func stop() {
        for node in nodes { node.stop() }
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
    }

    deinit { stop() }
}

@Suite("Redis Cluster client against three real masters", .serialized, .timeLimit(.minutes(5)))
struct ClusterClientTests {
    static func client(_ cluster: TestCluster) throws -> RedisClusterClient {
        RedisClusterClient(seeds: [(host: "127.0.0.1", port: cluster.nodes[0].port)], configuration: try RedisWorld.configuration(cluster.nodes[0]))
    }

    @Test("every command goes to the master of its slot: the slot map from one seed, each key stored where the cluster says it lives")
    func routesBySlot() async throws {
        let cluster = try await TestCluster.start()
        defer { cluster.stop() }
        let client = try Self.client(cluster)
        let keys = (0..<300).map { "pulse:{event-\($0)}:seats" }
        for key in keys { try await client.send(slot: ClusterKeySlot.of(key), "SET", key, "v-\(key)") }
        let map = try #require(client.slotMap)
        #expect(map.masters.count == 3 && map.coversEverySlot)
        var perNode = [0, 0, 0]
        for key in keys {
            let owner = cluster.owner(of: ClusterKeySlot.of(key))
            perNode[owner] += 1
            // Asked of its own master directly: no redirection, the value is there.
            #expect(try await cluster.clients[owner].send("GET", key).string == "v-\(key)", "\(key) on node \(owner)")
        }
        #expect(perNode.allSatisfy { $0 > 50 }, "the keys spread over the three masters: \(perNode)")
        await client.close()
    }

    @Test(
        "a slot migrating: a key already moved is asked of the new node (ASKING first), the map unchanged; once it has moved, MOVED updates the map")
    func followsAskAndMoved() async throws {
        let cluster = try await TestCluster.start()
        defer { cluster.stop() }
        let client = try Self.client(cluster)
        let key = (0...).lazy.map { "pulse:{moving-\($0)}:seats" }.first { cluster.owner(of: ClusterKeySlot.of($0)) == 0 }!
        let slot = ClusterKeySlot.of(key)
        try await client.send(slot: slot, "SET", key, "before")
        let before = try #require(client.slotMap)
        #expect(before.master(ofSlot: slot)?.port == cluster.nodes[0].port)

        // Node 0 hands the slot to node 1; the key goes first.
        let (from, to) = (cluster.clients[0], cluster.clients[1])
        try await to.send("CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", cluster.ids[0])
        try await from.send("CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", cluster.ids[1])
        try await from.send("MIGRATE", "127.0.0.1", "\(cluster.nodes[1].port)", "", "0", "5000", "KEYS", key)
        #expect(try await client.send(slot: slot, "GET", key).string == "before", "asked of node 1 after node 0's ASK")
        #expect(client.slotMap == before, "an ASK leaves the map as it is")
        // Without ASKING node 1 refuses it: the client's answer came by the ASK path.
        let refused = await #expect(throws: RedisError.self) { try await to.send("GET", key) }
        #expect("\(String(describing: refused))".contains("MOVED"))

        for node in [to, from, cluster.clients[2]] { try await node.send("CLUSTER", "SETSLOT", "\(slot)", "NODE", cluster.ids[1]) }
        try await client.send(slot: slot, "SET", key, "after")
        #expect(client.slotMap?.master(ofSlot: slot)?.port == cluster.nodes[1].port, "MOVED moved the slot in the map")
        #expect(try await to.send("GET", key).string == "after", "the write landed on the slot's new master")
        await client.close()
    }

    @Test("a slot nobody serves: CLUSTERDOWN retried a bounded number of times, then the command fails as unavailable")
    func unservedSlotFails() async throws {
        let cluster = try await TestCluster.start()
        defer { cluster.stop() }
        let client = try Self.client(cluster)
        try await client.refresh()
        let key = (0...).lazy.map { "pulse:{gone-\($0)}:seats" }.first { cluster.owner(of: ClusterKeySlot.of($0)) == 2 }!
        for node in cluster.clients { try await node.send("CLUSTER", "DELSLOTS", "\(ClusterKeySlot.of(key))") }
        let error = await #expect(throws: RedisError.self) { try await client.send(slot: ClusterKeySlot.of(key), "GET", key) }
        guard case .unavailable(let why)? = error else {
            Issue.record("expected unavailable, got \(String(describing: error))")
            return
        }
        #expect(why.contains("CLUSTERDOWN"), "\(why)")
        #expect(error?.outcomeUnknown == true, "a 503, as any unavailable store")
        await client.close()
    }
}
