import Foundation
import PulseWire
import Testing

/// Two `pulse serve --redis` processes on one redis-server and one SQLite file act as one engine
/// (issue: Redis hot state shared by several instances); with `--mongo` they share no file at all.
@Suite("Two server instances on one Redis", .serialized, .timeLimit(.minutes(10)))
struct MultiInstanceTests {
    /// The `pulse` binary built beside this test bundle.
    static var pulseExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pulse").path
    }

    struct Cluster {
        let redis: RedisServerProcess
        let mongo: MongoServerProcess?
        let a: ServerProcess
        let b: ServerProcess
        let directory: String
        /// REST clients of each instance.
        var apiA: PulseAPIClient { PulseAPIClient(baseURL: a.baseURL) }
        var apiB: PulseAPIClient { PulseAPIClient(baseURL: b.baseURL) }

        /// With `durable` "mongo" the instances keep durable state in one MongoDB and each has a
        /// data directory of its own; otherwise they share one SQLite file.
        init(environment: [String: String] = [:], durable: String = "sqlite") async throws {
            redis = try await RedisServerProcess()
            mongo = durable == "mongo" ? try await MongoServerProcess() : nil
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-cluster-\(redis.port)").path
            try? FileManager.default.removeItem(atPath: directory)
            let arguments = ["--redis", redis.url] + (mongo.map { ["--mongo", $0.url()] } ?? [])
            a = try await ServerProcess(
                executable: MultiInstanceTests.pulseExecutable, arguments: arguments, environment: environment,
                dataDirectory: mongo == nil ? directory : nil)
            b = try await ServerProcess(
                executable: MultiInstanceTests.pulseExecutable, arguments: arguments, environment: environment,
                dataDirectory: mongo == nil ? directory : nil)
        }

        func stop() {
            a.stop()
            b.stop()
            redis.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test("the sign-up and log-in limit is one count for every instance: attempts on A and on B add up (PB-AUTH-6)")
    func authLimitShared() async throws {
        let cluster = try await Cluster(environment: ["PULSE_AUTH_RATE_LIMIT": "4"])
        defer { cluster.stop() }
        let wrong: [String: Any] = ["email": cluster.a.adminEmail, "password": "not-the-password"]
        for api in [cluster.apiA, cluster.apiB, cluster.apiA, cluster.apiB] {
            #expect(try await api.call(.POST, "/api/v1/users/login", json: wrong).status == 401)
        }
        for api in [cluster.apiA, cluster.apiB] {
            let refused = try await api.call(.POST, "/api/v1/users/login", json: wrong)
            #expect(refused.status == 429, "two attempts on each instance are four on the shared count")
            #expect(refused.code == "rate_limited" && refused.headers.first(name: "Retry-After") != nil)
        }
        let signup = try await cluster.apiB.call(
            .POST, "/api/v1/users/signup", json: ["name": "Ana", "email": "ana@limit.test", "password": "ana-password"])
        #expect(signup.status == 201, "sign-up is counted apart from log-in")
    }

    @Test(
        "a hold through instance A reaches a subscriber of instance B, and both see one identical gap-free seq order",
        arguments: ["sqlite", "mongo"])
    func oneOrderAcrossInstances(durable: String) async throws {
        let cluster = try await Cluster(durable: durable)
        defer { cluster.stop() }
        let apiA = cluster.apiA
        let apiB = cluster.apiB
        let admin = try await apiA.login(email: cluster.a.adminEmail, password: cluster.a.adminPassword)
        let event = try await apiA.createEvent(adminToken: admin, title: "Shared", rows: 2, cols: 5, price: 10)
        let ana = try await apiA.signup(name: "Ana", email: "ana@multi.test", password: "ana-password")
        let bo = try await apiB.signup(name: "Bo", email: "bo@multi.test", password: "bo-password")
        let onA = LiveSubscriber(baseURL: cluster.a.baseURL, token: ana.token, eventID: event)
        let onB = LiveSubscriber(baseURL: cluster.b.baseURL, token: bo.token, eventID: event)
        try await onA.wait("A's snapshot") { !$0.snapshotSeqs.isEmpty }
        try await onB.wait("B's snapshot") { !$0.snapshotSeqs.isEmpty }

        let first = try await apiA.call(.POST, "/api/v1/events/\(event)/holds", token: ana.token, json: ["seatIds": ["A1"]])
        #expect(first.status == 201)
        try await onB.wait("the hold made through A at B") { $0.changes.contains { $0.type == "seat_locked" && $0.seats == ["A1"] } }

        // A burst from both instances at once: holds, releases and a checkout.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for seat in ["A2", "A3", "B1"] {
                    let hold = try await apiA.call(.POST, "/api/v1/events/\(event)/holds", token: ana.token, json: ["seatIds": [seat]])
                    if seat == "A3", let id = hold.object("hold")["id"] as? String {
                        _ = try await apiB.call(.DELETE, "/api/v1/events/\(event)/holds/\(id)", token: ana.token)
                    }
                }
            }
            group.addTask {
                for seat in ["B2", "B3", "A3"] {
                    _ = try await apiB.call(.POST, "/api/v1/events/\(event)/holds", token: bo.token, json: ["seatIds": [seat]])
                }
                _ = try await apiA.call(.POST, "/api/v1/events/\(event)/seats", token: bo.token, json: ["seatIds": ["B2"]])
            }
            try await group.waitForAll()
        }
        let finalSeq = try await apiB.call(.GET, "/api/v1/events/\(event)/seats").json["data"].flatMap { ($0 as? [String: Any])?["seq"] as? Int } ?? 0
        let snapshotSeq = onA.snapshotSeqs[0]
        let expected = Int64(finalSeq) - snapshotSeq
        #expect(expected >= 7, "the first hold, then at least six changes of the burst (A3 goes to one of the two users)")
        try await onA.wait("every change at A") { Int64($0.changes.count) >= expected }
        try await onB.wait("every change at B") { Int64($0.changes.count) >= expected }
        #expect(onA.changes == onB.changes, "A: \(onA.changes)\nB: \(onB.changes)")
        #expect(onA.changes.map(\.seq) == (1...expected).map { snapshotSeq + $0 }, "gap-free from the snapshot on")
        #expect(onB.snapshotSeqs == [snapshotSeq])
        await onA.stop()
        await onB.stop()
    }

    @Test("an event closed, reopened or deleted through instance B is held on its current state by instance A, which had it cached")
    func eventChangesReachEveryInstance() async throws {
        let cluster = try await Cluster()
        defer { cluster.stop() }
        let apiA = cluster.apiA
        let apiB = cluster.apiB
        let adminB = try await apiB.login(email: cluster.b.adminEmail, password: cluster.b.adminPassword)
        let event = try await apiB.createEvent(adminToken: adminB, title: "Cached", rows: 2, cols: 5, price: 10)
        let ana = try await apiA.signup(name: "Ana", email: "ana@cache.test", password: "ana-password")
        func holdOnA(_ seat: String) async throws -> APIReply {
            try await apiA.call(.POST, "/api/v1/events/\(event)/holds", token: ana.token, json: ["seatIds": [seat]])
        }
        #expect(try await holdOnA("A1").status == 201)  // A now has the event (and Ana) cached

        #expect(try await apiB.call(.PATCH, "/api/v1/events/\(event)", token: adminB, json: ["isActive": false]).status == 200)
        let closed = try await holdOnA("A2")
        #expect(closed.status == 409 && closed.code == "event_inactive", "\(closed.json)")

        #expect(try await apiB.call(.PATCH, "/api/v1/events/\(event)", token: adminB, json: ["isActive": true]).status == 200)
        #expect(try await holdOnA("A2").status == 201)

        #expect(try await apiB.call(.DELETE, "/api/v1/events/\(event)", token: adminB).status == 204)
        let deleted = try await holdOnA("A3")
        #expect(deleted.status == 404 && deleted.code == "event_not_found", "\(deleted.json)")
    }

    @Test("Redis flushed in the middle of a burst of holds and checkouts: no double booking, no lost booking, subscribers resync")
    func flushDuringBurst() async throws {
        let cluster = try await Cluster()
        defer { cluster.stop() }
        let apis = [cluster.apiA, cluster.apiB]
        let admin = try await apis[0].login(email: cluster.a.adminEmail, password: cluster.a.adminPassword)
        let event = try await apis[0].createEvent(adminToken: admin, title: "Flush", rows: 4, cols: 10, price: 5)
        var signedUp: [String] = []
        for index in 0..<8 {
            signedUp.append(
                try await apis[index % 2].signup(name: "User\(index)", email: "u\(index)@flush.test", password: "password-\(index)").token)
        }
        let users = signedUp
        let watchers = [
            LiveSubscriber(baseURL: cluster.a.baseURL, token: users[0], eventID: event),
            LiveSubscriber(baseURL: cluster.b.baseURL, token: users[1], eventID: event),
        ]
        for watcher in watchers { try await watcher.wait("the first snapshot") { !$0.snapshotSeqs.isEmpty } }
        let seats = (1...10).flatMap { ["A\($0)", "B\($0)", "C\($0)", "D\($0)"] }

        // Each user holds two seats and checks them out, over alternating instances; the first
        // half of the rounds runs before the flush, the second half races it.
        @Sendable func burst(rounds: Range<Int>, flushAfter: Duration?) async throws -> [String: [String]] {
            try await withThrowingTaskGroup(of: [String: [String]].self) { group in
                for (index, token) in users.enumerated() {
                    group.addTask {
                        var mine: [String: [String]] = [:]
                        for round in rounds {
                            let wanted = [seats[(index * 3 + round * 5) % seats.count], seats[(index * 7 + round * 3 + 1) % seats.count]]
                            let pair = Array(Set(wanted)).sorted()
                            let hold = try await apis[(index + round) % 2].call(
                                .POST, "/api/v1/events/\(event)/holds", token: token, json: ["seatIds": pair])
                            guard hold.status == 201 else { continue }
                            let checkout = try await apis[(index + round + 1) % 2].call(
                                .POST, "/api/v1/events/\(event)/seats", token: token,
                                json: ["seatIds": pair], headers: [("Idempotency-Key", "k-\(index)-\(round)")])
                            if checkout.status == 201, let id = checkout.object("booking")["id"] as? String { mine[id] = pair }
                        }
                        return mine
                    }
                }
                if let flushAfter {
                    group.addTask {
                        try await Task.sleep(for: flushAfter)
                        try RedisClientShell(port: cluster.redis.port).run("FLUSHALL")
                        return [:]
                    }
                }
                return try await group.reduce(into: [String: [String]]()) { $0.merge($1) { first, _ in first } }
            }
        }
        var acknowledged = try await burst(rounds: 0..<2, flushAfter: nil)
        acknowledged.merge(try await burst(rounds: 2..<8, flushAfter: .milliseconds(5))) { first, _ in first }
        #expect(!acknowledged.isEmpty, "some checkouts succeeded")

        var bookedSeats: [String] = []
        var bookingIDs: Set<String> = []
        for (index, token) in users.enumerated() {
            let mine = try await apis[index % 2].call(.GET, "/api/v1/bookings/me", token: token)
            for booking in (mine.json["data"] as? [String: Any])?["bookings"] as? [[String: Any]] ?? [] {
                bookingIDs.insert(booking["id"] as? String ?? "")
                bookedSeats += booking["seatIds"] as? [String] ?? []
            }
        }
        #expect(Set(bookedSeats).count == bookedSeats.count, "a seat was booked twice: \(bookedSeats.sorted())")
        #expect(Set(acknowledged.keys).isSubset(of: bookingIDs), "an acknowledged booking was lost")
        for api in apis {
            let map = try await api.call(.GET, "/api/v1/events/\(event)/seats")
            let shown = ((map.json["data"] as? [String: Any])?["seats"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "booked" }
                .compactMap { $0["id"] as? String }
            #expect(Set(shown) == Set(bookedSeats), "the seat map shows exactly the durable bookings")
        }
        for watcher in watchers {
            try await watcher.wait("a resync snapshot after the flush") { $0.snapshotSeqs.count >= 2 }
            #expect(watcher.snapshotSeqs[1] > watcher.snapshotSeqs[0] + (1 << 31), "the resync snapshot is of a newer generation")
            await watcher.stop()
        }
    }
}

/// Runs `redis-cli` against a test server (a second client that is not Pulse's own).
struct RedisClientShell {
    let port: Int

    func run(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        process.arguments = ["-p", String(port)] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        guard process.awaitExit(within: 10) else {
            process.killAndAwaitExit()
            throw APIError("redis-cli \(arguments) did not finish within 10 s")
        }
        guard process.terminationStatus == 0 else { throw APIError("redis-cli \(arguments) failed") }
    }
}
