import Foundation
import PulseWire
import Testing

/// A Redis that comes back with older data than the server saw (restarted from an older
/// snapshot, as a promoted replica that lagged behind would be): the server must notice that the
/// process changed, rebuild the event from the durable store with a newer generation, and make
/// subscribers resync, instead of handing out seqs and fences it already used.
@Suite("A Redis that comes back with older data", .serialized, .timeLimit(.minutes(10)))
struct RedisRestartTests {
    @Test("restarted from an older snapshot: no seq is reused, the older holds are not trusted, subscribers resync and see the new hold")
    func olderSnapshot() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-stale-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/redis", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let redis = try await RedisServerProcess(arguments: ["--dir", directory + "/redis"])
        defer { redis.stop() }
        let server = try await ServerProcess(
            executable: MultiInstanceTests.pulseExecutable, arguments: ["--redis", redis.url], dataDirectory: directory + "/data")
        defer { server.stop() }
        let api = PulseAPIClient(baseURL: server.baseURL)
        let admin = try await api.login(email: server.adminEmail, password: server.adminPassword)
        let event = try await api.createEvent(adminToken: admin, title: "Stale", rows: 1, cols: 6, price: 5)
        let ana = try await api.signup(name: "Ana", email: "ana@stale.test", password: "ana-password")
        let watcher = LiveConnection(url: LiveConnection.url(baseURL: server.baseURL, token: ana.token))
        defer { watcher.close() }
        watcher.send(["type": "join_event", "eventId": event])
        _ = try await watcher.next("the first snapshot") { $0.type == "snapshot" }

        func hold(_ seat: String) async throws -> APIReply {
            try await api.call(.POST, "/api/v1/events/\(event)/holds", token: ana.token, json: ["seatIds": [seat]])
        }
        #expect(try await hold("A1").status == 201)
        try RedisClientShell(port: redis.port).run("SAVE")  // the older data: only A1 held
        #expect(try await hold("A2").status == 201)
        #expect(try await hold("A3").status == 201)
        _ = try await watcher.next("A3 locked") { $0.type == "seat_locked" && $0.string("seatId") == "A3" }
        let seenBefore = watcher.messages.compactMap(\.seq).max() ?? 0
        let messagesBefore = watcher.messages.count

        redis.stop()
        try await redis.start()  // loads the snapshot: A1 held, the seq two behind what subscribers saw
        var answer = try await hold("A4")
        for _ in 0..<50 where answer.status == 503 {  // the pooled connections broke with the restart
            try await Task.sleep(for: .milliseconds(100))
            answer = try await hold("A4")
        }
        #expect(answer.status == 201, "\(answer.status) \(answer.code ?? "") \(answer.text)")

        let resync = try await watcher.next(after: messagesBefore, seconds: 10, "a resync snapshot") { $0.type == "snapshot" }
        let after = watcher.messages.dropFirst(messagesBefore)
        #expect(after.allSatisfy { ($0.seq ?? .max) > seenBefore }, "a seq was handed out twice: \(after.map(\.text))")
        #expect((resync.seq ?? 0) > seenBefore + (1 << 31), "the resync snapshot is of a newer generation")
        let view = resync.json?["seats"] as? [[String: Any]] ?? []
        let locked = Set(view.filter { $0["status"] as? String == "locked" }.compactMap { $0["id"] as? String })
        // The snapshot comes before or with A4's hold; either way nothing of the older data is shown.
        #expect(locked.isSubset(of: ["A4"]), "holds from the older data are still shown: \(locked.sorted())")
        let map = try await api.call(.GET, "/api/v1/events/\(event)/seats")
        let held = Set(map.objects("seats").filter { $0["status"] as? String == "locked" }.compactMap { $0["id"] as? String })
        #expect(held == ["A4"], "the seat map after the rebuild: \(held.sorted())")
        #expect(try await hold("A1").status == 201, "A1's hold from the older data is not trusted; the seat is free again")
    }
}
