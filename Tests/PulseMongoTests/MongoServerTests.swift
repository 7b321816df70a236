import Foundation
import PulseProtocol
import PulseWire
import Synchronization
import Testing

/// `pulse serve --mongo` as a process: killed mid flash sale and restarted, its MongoDB server
/// stopped and restarted under it, and `pulse admin create --mongo`.
@Suite("pulse serve on MongoDB", .serialized, .timeLimit(.minutes(10)))
struct MongoServerTests {
    static var pulseExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pulse").path
    }

    /// The booked seat ids of an event's seat map.
    static func bookedSeats(_ api: PulseAPIClient, _ event: String) async throws -> [String] {
        let map = try await api.call(.GET, "/api/v1/events/\(event)/seats")
        let seats = (map.json["data"] as? [String: Any])?["seats"] as? [[String: Any]] ?? []
        return seats.filter { $0["status"] as? String == "booked" }.compactMap { $0["id"] as? String }
    }

    @Test(
        "kill -9 mid flash sale and a restart on the same MongoDB: no acknowledged booking lost, no seat booked twice",
        arguments: ["embedded", "redis"])
    func killedMidSale(hot: String) async throws {
        let mongo = try await MongoServerProcess()
        let redis = hot == "redis" ? try await RedisServerProcess() : nil
        defer { redis?.stop() }
        let arguments = ["--mongo", mongo.url()] + (redis.map { ["--redis", $0.url] } ?? [])
        let first = try await ServerProcess(executable: Self.pulseExecutable, arguments: arguments)
        let api = PulseAPIClient(baseURL: first.baseURL)
        let admin = try await api.login(email: first.adminEmail, password: first.adminPassword)
        let event = try await api.createEvent(adminToken: admin, title: "Flash", rows: 3, cols: 10, price: 10)
        var buyers: [String] = []
        for index in 0..<16 {
            buyers.append(try await api.signup(name: "B\(index)", email: "b\(index)@kill.test", password: "buyer-password").token)
        }
        let seats = SeatGrid(rows: 3, cols: 10).labels
        // Every buyer races for random seats (a hold, then a checkout of it); the tenth booking
        // acknowledged kills the server while the others' requests are in flight.
        let bookingsSoFar = SharedCount()
        let acknowledged = try await withThrowingTaskGroup(of: [String: [String]].self) { group in
            for (index, token) in buyers.enumerated() {
                group.addTask {
                    var random = SeededRandom(seed: UInt64(index + 1))
                    var booked: [String: [String]] = [:]
                    for attempt in 0..<40 {
                        let seat = seats[random.below(seats.count)]
                        // A thrown error is the server gone: this buyer stops.
                        guard
                            let hold = try? await api.call(
                                .POST, "/api/v1/events/\(event)/holds", token: token, json: ["seatIds": [seat]],
                                timeout: .seconds(15))
                        else { break }
                        guard hold.status == 201 else { continue }
                        guard
                            let checkout = try? await api.call(
                                .POST, "/api/v1/events/\(event)/seats", token: token, json: ["seatIds": [seat]],
                                headers: [("Idempotency-Key", "k\(index)-\(attempt)")], timeout: .seconds(15))
                        else { break }
                        if checkout.status == 201, let id = checkout.object("booking").documentID {
                            booked[id] = [seat]
                            if bookingsSoFar.increment() == 10 { first.kill() }
                        }
                    }
                    return booked
                }
            }
            return try await group.reduce(into: [String: [String]]()) { $0.merge($1) { old, _ in old } }
        }
        #expect(
            acknowledged.count >= 10 && acknowledged.count < seats.count,
            "the kill came mid sale: \(acknowledged.count) of \(seats.count) seats booked")
        let second = try await ServerProcess(executable: Self.pulseExecutable, arguments: arguments)
        defer { second.stop() }
        let after = PulseAPIClient(baseURL: second.baseURL)
        var durable: [String: [String]] = [:]
        for token in buyers {
            let mine = try await after.call(.GET, "/api/v1/bookings/me", token: token)
            #expect(mine.status == 200)
            for booking in (mine.json["data"] as? [String: Any])?["bookings"] as? [[String: Any]] ?? [] {
                if let id = booking.documentID { durable[id] = booking["seatIds"] as? [String] ?? [] }
            }
        }
        #expect(
            Set(acknowledged.keys).isSubset(of: Set(durable.keys)), "acknowledged bookings lost: \(Set(acknowledged.keys).subtracting(durable.keys))")
        let sold = durable.values.flatMap { $0 }
        #expect(Set(sold).count == sold.count, "a seat booked twice: \(sold.sorted())")
        #expect(Set(try await Self.bookedSeats(after, event)) == Set(sold), "the restarted server's map shows exactly the durable bookings")
    }

    @Test("MongoDB stopped under a live server: 503 store_unavailable and /readyz 503; restarted: it serves again with nothing lost")
    func storeOutage() async throws {
        let mongo = try await MongoServerProcess()
        let server = try await ServerProcess(executable: Self.pulseExecutable, arguments: ["--mongo", mongo.url()])
        defer { server.stop() }
        let api = PulseAPIClient(baseURL: server.baseURL)
        let admin = try await api.login(email: server.adminEmail, password: server.adminPassword)
        let event = try await api.createEvent(adminToken: admin, title: "Outage", rows: 1, cols: 5, price: 10)
        let ana = try await api.signup(name: "Ana", email: "ana@outage.test", password: "ana-password")
        #expect(try await api.call(.POST, "/api/v1/events/\(event)/holds", token: ana.token, json: ["seatIds": ["A1", "A2"]]).status == 201)
        let booked = try await api.call(.POST, "/api/v1/events/\(event)/seats", token: ana.token, json: ["seatIds": ["A1"]])
        #expect(booked.status == 201)

        mongo.kill()
        // Whether the checkout meets the dead store at its event read or at its commit depends on
        // the event cache's age: either way a 503 that says whether the outcome is known.
        let failed = try await api.call(
            .POST, "/api/v1/events/\(event)/seats", token: ana.token, json: ["seatIds": ["A2"]],
            headers: [("Idempotency-Key", "outage-1")])
        #expect(failed.status == 503 && failed.code == "store_unavailable", "\(failed.status) \(failed.json)")
        #expect(failed.json["outcomeUnknown"] is Bool && failed.headers.first(name: "Retry-After") != nil)
        #expect(!(failed.json["message"] as? String ?? "").contains("MongoDB"), "a 503 carries no store error text")
        let mine = try await api.call(.GET, "/api/v1/bookings/me", token: ana.token)
        #expect(mine.status == 503 && mine.code == "store_unavailable" && mine.json["outcomeUnknown"] as? Bool == false)
        #expect(try await api.call(.GET, "/readyz").status == 503)

        try await mongo.start()
        var ready = false
        for _ in 0..<100 where !ready {
            ready = try await api.call(.GET, "/readyz").status == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready, "ready again once MongoDB is back")
        #expect(try await api.call(.POST, "/api/v1/events/\(event)/holds", token: ana.token, json: ["seatIds": ["A3"]]).status == 201)
        #expect(try await api.call(.POST, "/api/v1/events/\(event)/seats", token: ana.token, json: ["seatIds": ["A3"]]).status == 201)
        let bookings = try await api.call(.GET, "/api/v1/bookings/me", token: ana.token)
        let ids = ((bookings.json["data"] as? [String: Any])?["bookings"] as? [[String: Any]] ?? []).compactMap(\.documentID)
        #expect(booked.object("booking").documentID.map(ids.contains) == true, "the booking acknowledged before the outage is kept")
        #expect(ids.count >= 2)
    }

    @Test("pulse admin create --mongo makes an admin that pulse serve --mongo lets in")
    func adminCreate() async throws {
        let mongo = try await MongoServerProcess()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.pulseExecutable)
        process.arguments = [
            "admin", "create", "--email", "root@mongo.test", "--password", "root-password", "--bcrypt-cost", "4", "--mongo", mongo.url(),
        ]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        #expect(process.awaitExit(within: 30) && process.terminationStatus == 0)
        let server = try await ServerProcess(executable: Self.pulseExecutable, arguments: ["--mongo", mongo.url()])
        defer { server.stop() }
        let api = PulseAPIClient(baseURL: server.baseURL)
        let token = try await api.login(email: "root@mongo.test", password: "root-password")
        #expect(
            try await api.call(
                .POST, "/api/v1/events", token: token,
                json: [
                    "title": "By root", "venue": "Hall", "date": "2030-01-01", "venueConfig": ["rows": 1, "cols": 2, "price": 5],
                ]
            ).status == 201, "the admin made on MongoDB can create events")
    }
}

/// A count several tasks add to.
final class SharedCount: Sendable {
    private let count = Atomic<Int>(0)

    /// Adds one and returns the new count.
    func increment() -> Int { count.add(1, ordering: .relaxed).newValue }
}
