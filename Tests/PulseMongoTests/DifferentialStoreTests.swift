import Foundation
import PulseEngine
import PulseMongo
import PulseProtocol
import PulseSQLite
import PulseWire
import Testing

/// The same seeded sequences of durable-store operations on SQLite and on MongoDB: every answer
/// must be the same (bookings refused for the same seats, the same fencing, the same listings in
/// the same order, the same errors).
@Suite("SQLite and MongoDB answer alike", .timeLimit(.minutes(10)))
struct DifferentialStoreTests {
    static let users = ["u0", "u1", "u2"]
    static let events = ["e0", "e1"]
    static let seats = ["A1", "A2", "A3", "B1", "B2", "B3"]

    /// One operation and a printable answer (errors by kind: their texts differ by store).
    static func apply(_ step: Int, _ random: inout SeededRandom, on store: any DurableStore) async -> String {
        func pick<T>(_ values: [T]) -> T { values[random.below(values.count)] }
        let user = pick(users)
        let event = pick(events)
        let operation = random.below(13)
        do {
            switch operation {
            case 0:
                var record = UserRecord(
                    id: "n\(step)", name: "N", email: pick(["a@x.test", "b@x.test", "u1@x.test"]), passwordHash: "h", role: .user,
                    createdAtMs: Int64(step))
                if random.chance(0.2) { record.email = "\(user)@x.test" }
                try await store.createUser(record)
                return "created"
            case 1:
                return "\(try await store.user(email: pick(["a@x.test", "u0@x.test", "none@x.test"])).map { "\($0.id) \($0.role)" } ?? "none")"
            case 2:
                let admin = try await store.upsertAdmin(
                    UserRecord(
                        id: "adm\(step)", name: "A", email: pick(["u2@x.test", "boss@x.test"]), passwordHash: "p\(step)", role: .user,
                        createdAtMs: Int64(step)))
                return "\(admin.id) \(admin.role) \(admin.passwordHash)"
            case 3:
                guard var record = try await store.event(id: event) else { return "no event" }
                record.isActive = random.chance(0.6)
                record.title = "T\(step)"
                record.description = random.chance(0.5) ? nil : "d\(step)"
                try await store.updateEvent(record)
                return "updated"
            case 4:
                // Rarely: a deleted event leaves the listings for good.
                return random.chance(0.15) ? "\(try await store.deleteEvent(id: event))" : "\(try await store.event(id: event)?.title ?? "none")"
            case 5:
                return "\(try await store.activeEvents().map { "\($0.id) \($0.title) \($0.description ?? "-")" })"
            case 6, 7, 8:
                let count = 1 + random.below(3)
                let chosen = Array(Set((0..<count).map { _ in pick(seats) })).sorted()
                let fences = Dictionary(uniqueKeysWithValues: chosen.map { ($0, Int64(1 + random.below(5))) })
                let key = random.chance(0.4) ? pick(["k1", "k2"]) : nil
                let booking = NewBooking(
                    id: "b\(step)", eventID: event, userID: user, seatIDs: chosen, fences: fences, totalCents: 100 * count,
                    idempotencyKey: key, createdAtMs: Int64(step))
                return "\(try await store.commitBooking(booking))"
            case 9:
                let fences = Dictionary(uniqueKeysWithValues: [pick(seats)].map { ($0, Int64(1 + random.below(5))) })
                return "\(try await store.resolveLapsedCheckout(bookingID: "b\(max(0, step - random.below(4)))", eventID: event, fences: fences))"
            case 12:
                let id = "b\(max(0, step - 1 - random.below(8)))"
                let reason = random.chance(0.5) ? "reason \(step)" : nil
                return
                    "\(try await store.cancelBooking(BookingCancellationRequest(bookingID: id, userID: random.chance(0.7) ? user : nil, atMs: Int64(step), reason: reason)))"
            case 10:
                return "\(try await store.bookings(userID: user).map { "\($0.id) \($0.seatIDs) \($0.idempotencyKey ?? "-")" }) "
                    + "\(try await store.booking(userID: user, idempotencyKey: "k1")?.id ?? "-")"
            default:
                return
                    "\(try await store.bookedSeats(eventID: event).sorted { $0.key < $1.key }) \(try await store.bookedSeatCounts(eventIDs: events).sorted { $0.key < $1.key })"
            }
        } catch let error as DurableStoreError {
            if case .emailTaken = error { return "emailTaken" }
            return "unavailable"
        } catch {
            return "error \(error)"
        }
    }

    static func prepare(_ store: any DurableStore) async throws {
        for user in users {
            try await store.createUser(UserRecord(id: user, name: user, email: "\(user)@x.test", passwordHash: "h", role: .user, createdAtMs: 0))
        }
        for (index, event) in events.enumerated() {
            try await store.createEvent(
                EventRecord(
                    id: event, title: event, venue: "V", date: "2027-0\(2 - index)-01T00:00:00.000Z", isActive: true,
                    rows: 2, cols: 3, priceCents: 100, createdAtMs: 0))
        }
    }

    @Test("the cancellation contract holds on SQLite (DurableStoreContract, as MongoStoreTests runs it on MongoDB)")
    func cancellationOnSQLite() async throws {
        try await DurableStoreContract.cancellation(try SQLiteDurableStore())
    }

    @Test("seeded operation sequences give the same answer at every step", arguments: [1, 2, 3] as [UInt64])
    func sameAnswers(seed: UInt64) async throws {
        let server = try await MongoServerProcess()
        let mongo = try await MongoDurableStore(url: server.url())
        let sqlite = try SQLiteDurableStore()
        try await Self.prepare(mongo)
        try await Self.prepare(sqlite)
        var onSQLite = SeededRandom(seed: seed)
        var onMongo = SeededRandom(seed: seed)
        var differences: [String] = []
        for step in 0..<120 {
            let expected = await Self.apply(step, &onSQLite, on: sqlite)
            let answer = await Self.apply(step, &onMongo, on: mongo)
            if answer != expected { differences.append("step \(step): SQLite \(expected) / MongoDB \(answer)") }
        }
        #expect(differences == [])
        #expect(try await mongo.nextHotGeneration() == (try await sqlite.nextHotGeneration()))
    }
}
