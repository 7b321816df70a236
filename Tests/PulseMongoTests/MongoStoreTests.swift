import Foundation
import PulseEngine
import PulseMongo
import PulseWire
import Testing

/// The MongoDB durable store against a real MongoDB-protocol server (SecantusDB, one of its own
/// per test): what the database itself enforces, transactions that lose races, and a server that
/// goes away and comes back.
@Suite("MongoDB durable store", .timeLimit(.minutes(10)))
struct MongoStoreTests {
    static func event(_ id: String = "e1", rows: Int = 1, cols: Int = 3) -> EventRecord {
        EventRecord(
            id: id, title: "T", venue: "V", date: "2027-01-01T00:00:00.000Z", isActive: true, rows: rows, cols: cols, priceCents: 100, createdAtMs: 0)
    }

    static func user(_ id: String) -> UserRecord {
        UserRecord(id: id, name: "U", email: "\(id)@example.com", passwordHash: "h", role: .user, createdAtMs: 0)
    }

    static func booking(_ id: String, _ seats: [String], user: String = "u1", fence: Int64 = 5, key: String? = nil, at time: Int64 = 0) -> NewBooking
    {
        NewBooking(
            id: id, eventID: "e1", userID: user, seatIDs: seats, fences: Dictionary(uniqueKeysWithValues: seats.map { ($0, fence) }),
            totalCents: 100 * seats.count, idempotencyKey: key, createdAtMs: time)
    }

    @Test("the database enforces one claim per seat, unique emails and one booking per idempotency key")
    func constraints() async throws {
        let server = try await MongoServerProcess()
        let store = try await MongoDurableStore(url: server.url())
        try await store.createUser(Self.user("u1"))
        await #expect(throws: DurableStoreError.emailTaken) {
            var twin = Self.user("u2")
            twin.email = "u1@example.com"
            try await store.createUser(twin)
        }
        try await store.createEvent(Self.event())
        guard case .committed = try await store.commitBooking(Self.booking("b1", ["A1", "A2"], key: "k")) else { throw TestFailure("first commit") }
        #expect(try await store.commitBooking(Self.booking("b2", ["A3", "A2"])) == .seatsTaken(["A2"]))
        guard case .duplicateKey(let existing) = try await store.commitBooking(Self.booking("b3", ["A3"], key: "k")) else { throw TestFailure("key") }
        #expect(existing.id == "b1" && existing.seatIDs == ["A1", "A2"])
        #expect(try await store.bookedSeats(eventID: "e1") == ["A1": "b1", "A2": "b1"])
        #expect(try await store.bookedSeatCounts(eventIDs: ["e1", "e2"]) == ["e1": 2])
        #expect(try await store.resolveLapsedCheckout(bookingID: "b9", eventID: "e1", fences: ["A3": 5]) == false)
        #expect(try await store.commitBooking(Self.booking("b9", ["A3"])) == .fencedOff(["A3"]))
        #expect(try await store.resolveLapsedCheckout(bookingID: "b1", eventID: "e1", fences: ["A1": 5]) == true)
        #expect(try await store.bookings(userID: "u1").map(\.id) == ["b1"])
    }

    @Test("a cancelled booking gives its seats back, keeps its seats and its key, and is cancelled once")
    func cancellation() async throws {
        let server = try await MongoServerProcess()
        try await DurableStoreContract.cancellation(try await MongoDurableStore(url: server.url()))
    }

    @Test("many concurrent commits of overlapping seats: each seat is booked once, by one whole booking")
    func concurrentCommits() async throws {
        let server = try await MongoServerProcess()
        let store = try await MongoDurableStore(url: server.url())
        try await store.createEvent(Self.event(cols: 6))
        let seats = (1...6).map { "A\($0)" }
        let results = try await withThrowingTaskGroup(of: BookingCommit.self) { group in
            for index in 0..<24 {
                // Pairs of neighbouring seats: every booking overlaps two others.
                let pair = [seats[index % 6], seats[(index + 1) % 6]]
                group.addTask { try await store.commitBooking(Self.booking("b\(index)", pair, user: "u\(index)")) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let committed = results.compactMap { if case .committed(let booking) = $0 { booking } else { nil } }
        let booked = committed.flatMap(\.seatIDs)
        #expect(!committed.isEmpty)
        #expect(Set(booked).count == booked.count, "a seat in two bookings: \(booked.sorted())")
        #expect(try await store.bookedSeats(eventID: "e1").keys.sorted() == booked.sorted())
        for result in results {
            if case .seatsTaken(let taken) = result { #expect(!taken.isEmpty && Set(taken).isSubset(of: Set(booked))) }
        }
    }

    @Test("a commit racing the resolution of its own lapsed lease: exactly one wins, never both (no write skew)")
    func commitRacesResolution() async throws {
        let server = try await MongoServerProcess()
        let store = try await MongoDurableStore(url: server.url())
        try await store.createEvent(Self.event(rows: 1, cols: 40))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1...40 {
                group.addTask {
                    let booking = Self.booking("c\(index)", ["A\(index)"])
                    async let commit = store.commitBooking(booking)
                    async let resolved = store.resolveLapsedCheckout(bookingID: booking.id, eventID: "e1", fences: booking.fences)
                    let (outcome, committed) = try await (commit, resolved)
                    switch outcome {
                    case .committed: #expect(committed, "c\(index) booked, yet its resolution fenced it off")
                    case .fencedOff: #expect(!committed, "c\(index) fenced off, yet its resolution says it committed")
                    default: Issue.record("c\(index): \(outcome)")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test("the server killed: calls fail as unavailable within seconds; restarted on its storage, every acknowledged write is there")
    func serverRestart() async throws {
        let server = try await MongoServerProcess()
        let store = try await MongoDurableStore(url: server.url())
        try await store.createUser(Self.user("u1"))
        try await store.createEvent(Self.event())
        guard case .committed = try await store.commitBooking(Self.booking("b1", ["A1"])) else { throw TestFailure("commit") }
        let generation = try await store.nextHotGeneration()
        server.kill()
        let started = ContinuousClock.now
        await #expect(throws: DurableStoreError.self) { try await store.commitBooking(Self.booking("b2", ["A2"])) }
        await #expect(throws: DurableStoreError.self) { try await store.ping() }
        #expect(ContinuousClock.now - started < .seconds(15), "the driver's timeouts are seconds, not its 30 s default")
        try await server.start()
        var answered = false
        for _ in 0..<100 where !answered {
            answered = (try? await store.ping()) != nil
            if !answered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answered, "the store answers again once the server is back")
        #expect(try await store.bookedSeats(eventID: "e1").keys.sorted() == ["A1"])
        #expect(try await store.user(id: "u1") != nil)
        #expect(try await store.nextHotGeneration() == generation + 1)
        guard case .committed = try await store.commitBooking(Self.booking("b3", ["A2"])) else { throw TestFailure("commit after the restart") }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
