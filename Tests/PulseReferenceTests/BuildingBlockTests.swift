import Foundation
import GRDB
import NIOCore
import PulseLive
import PulseProtocol
import Testing

@testable import PulseEngine
@testable import PulseReference
@testable import PulseSQLite

@Suite("Building blocks")
struct BuildingBlockTests {
    @Test("ISO time formats and parses UTC instants, offsets and dates, and refuses impossible ones")
    func isoTime() {
        #expect(ISOTime.format(ms: 0) == "1970-01-01T00:00:00.000Z")
        #expect(ISOTime.format(ms: 1_767_225_600_123) == "2026-01-01T00:00:00.123Z")
        #expect(ISOTime.format(ms: 951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(ISOTime.parse("2026-01-01T00:00:00.123Z") == 1_767_225_600_123)
        #expect(ISOTime.parse("2026-01-01T02:00+02:00") == 1_767_225_600_000)
        #expect(ISOTime.parse("2026-01-01") == 1_767_225_600_000)
        for bad in ["2026-02-29", "2026-13-01", "2026-01-01T24:00Z", "2026-01-01T10:00", "yesterday", "2026-01-01Tx", ""] {
            #expect(ISOTime.parse(bad) == nil, "\(bad)")
        }
        for ms: Int64 in [0, 1, 999, 86_399_999, 1_767_225_600_123, 4_102_444_800_000] {
            #expect(ISOTime.parse(ISOTime.format(ms: ms)) == ms)
        }
    }

    @Test("the seat grid labels rows A.. and columns 1..N and knows exactly its seats")
    func seatGrid() {
        let grid = SeatGrid(rows: 2, cols: 12)
        #expect(grid.labels.prefix(3) == ["A1", "A2", "A3"])
        #expect(grid.labels.last == "B12")
        #expect(grid.capacity == 24)
        #expect(grid.contains("B12") && grid.contains("A1"))
        for bad in ["C1", "A0", "A13", "A01", "a1", "A", "", "AA1", "A1 "] { #expect(!grid.contains(bad), "\(bad)") }
        #expect(SeatGrid(rows: 26, cols: 50).labels.last == "Z50")
    }

    @Test("money is exact cents: two decimals at most, never negative")
    func money() {
        #expect(Money.cents(from: 12.5) == 1250)
        #expect(Money.cents(from: 0.1 + 0.2) == 30)
        #expect(Money.cents(from: 1.005) == nil)
        #expect(Money.cents(from: -1) == nil)
        #expect(Money.cents(from: .infinity) == nil)
    }

    @Test("the change log returns exactly the changes after a seq, or nil once they were trimmed")
    func changeLog() {
        var log = ChangeLog(capacity: 3)
        for seq in Int64(11)...15 { log.append(.seatsBooked(eventId: "e", seatIds: ["A\(seq)"], seq: seq)) }
        #expect(log.after(15, lastSeq: 15) == [])
        #expect(log.after(12, lastSeq: 15)?.map(\.seq) == [13, 14, 15])
        #expect(log.after(14, lastSeq: 15)?.map(\.seq) == [15])
        #expect(log.after(11, lastSeq: 15) == nil, "seq 12 was trimmed")
        #expect(log.after(16, lastSeq: 15) == nil, "a seq from the future")
    }

    @Test("seeded identifiers repeat for the same seed and differ across seeds")
    func seededIDs() {
        let a = SeededIdentifierSource(seed: 42)
        let b = SeededIdentifierSource(seed: 42)
        let c = SeededIdentifierSource(seed: 43)
        let first = (0..<5).map { _ in a.token() }
        #expect(first == (0..<5).map { _ in b.token() })
        #expect(first != (0..<5).map { _ in c.token() })
        #expect(first.allSatisfy { Hex.isHex($0, count: 32) })
        #expect(Set(first).count == 5)
        #expect(SecureIdentifierSource().token() != SecureIdentifierSource().token())
    }

    @Test("the sliding window counts `limit` hits per window per key, reports when to retry, and forgets the stalest key")
    func slidingWindow() {
        let counter = SlidingWindowCounter(keysMax: 2)
        #expect(counter.hit("a", limit: 2, windowMs: 10_000, nowMs: 0) == nil)
        #expect(counter.hit("a", limit: 2, windowMs: 10_000, nowMs: 1_000) == nil)
        #expect(counter.hit("a", limit: 2, windowMs: 10_000, nowMs: 1_000) == 9_000)
        #expect(counter.hit("b", limit: 2, windowMs: 10_000, nowMs: 1_000) == nil)
        #expect(counter.hit("a", limit: 2, windowMs: 10_000, nowMs: 10_000) == nil, "the first hit left the window")
        #expect(
            counter.hit("a", limit: 2, windowMs: 10_000, nowMs: 10_001) == 999,
            "the hit at 1000 leaves the window at 11000 (the refused one at 1000 was not counted)")
        _ = counter.hit("c", limit: 2, windowMs: 10_000, nowMs: 10_002)
        #expect(counter.hit("b", limit: 1, windowMs: 10_000, nowMs: 10_003) == nil, "b, the stalest of three keys over a cap of 2, was forgotten")
    }

    @Test("a token bucket gives a burst, then one token per 1/rate seconds, and says how long to wait")
    func tokenBuckets() {
        let clock = ManualClock()
        let buckets = TokenBuckets(perSecond: 2, burst: 3, clock: clock, keysMax: 2)
        #expect((0..<3).map { _ in buckets.take("u1") } == [nil, nil, nil])
        #expect(buckets.take("u1") == 1, "empty: half a second to the next token, rounded up to 1 s")
        #expect(buckets.take("u2") == nil, "each user has a bucket of their own")
        clock.advance(byMs: 500)
        #expect(buckets.take("u1") == nil)
        #expect(buckets.take("u1") == 1)
        clock.advance(byMs: 10_000)
        #expect((0..<4).map { _ in buckets.take("u1") } == [nil, nil, nil, 1], "refilled to the burst, no more")
        let slow = TokenBuckets(perSecond: 0.25, burst: 1, clock: clock)
        #expect(slow.take("u") == nil)
        #expect(slow.take("u") == 4)
    }

    @Test("the AsyncAPI document has a schema for every live message each way, naming exactly the fields the codec writes")
    func asyncAPIMatchesTheCodec() throws {
        let seat = { (status: SeatStatus, by: String?) in
            SeatResource(id: "A1", label: "A1", row: "A", number: 1, price: 10, status: status, lockedBy: by)
        }
        let hold = HoldResource(id: String(repeating: "c", count: 32), eventId: "e", seatIds: ["A1"], expiresAt: "2027-01-01T00:00:00.000Z", fence: 3)
        let server: [LiveServerMessage] = [
            .snapshot(eventId: "e", seq: 1, seats: [seat(.locked, "u"), seat(.available, nil)]), .joined(eventId: "e", seq: 1),
            .change(.seatLocked(eventId: "e", seatId: "A1", lockedBy: "u", seq: 2)),
            .change(.seatReleased(eventId: "e", seatId: "A1", reason: .expired, seq: 3)),
            .change(.seatsBooked(eventId: "e", seatIds: ["A1"], seq: 4)),
            .change(.seatsReleased(eventId: "e", seatIds: ["A1"], reason: .cancelled, seq: 5)),
            .change(.eventDeleted(eventId: "e", seq: 6)),
            .lockAcquired(eventId: "e", seatId: "A1", hold: hold), .lockFailed(eventId: "e", seatId: "A1", code: .seatUnavailable, message: "m"),
            .error(code: .malformedJSON, message: "m"),
        ]
        let client: [LiveClientMessage] = [
            .joinEvent(eventId: "e", sinceSeq: 4), .joinEvent(eventId: "e", sinceSeq: nil), .leaveEvent(eventId: "e"),
            .requestLock(eventId: "e", seatId: "A1"), .releaseLock(eventId: "e", seatId: "A1"),
        ]
        func check(_ text: String, against schemas: [String: [String: Any]]) throws -> String {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            let type = try #require(object["type"] as? String)
            let payload = try #require(schemas[type]?["payload"] as? [String: Any], "no schema for \(type)")
            let properties = Set((payload["properties"] as? [String: Any] ?? [:]).keys)
            let required = Set(payload["required"] as? [String] ?? [])
            #expect(Set(object.keys).isSubset(of: properties), "\(type) writes \(Set(object.keys).subtracting(properties)) beyond its schema")
            #expect(required.isSubset(of: Set(object.keys)), "\(type) lacks \(required.subtracting(object.keys)) its schema requires")
            return type
        }
        let serverTypes = try Set(server.map { try check(LiveCodec.encode($0), against: AsyncAPIDocument.serverMessages) })
        let clientTypes = try Set(
            client.map { try check(String(decoding: try JSONEncoder().encode($0), as: UTF8.self), against: AsyncAPIDocument.clientMessages) })
        #expect(serverTypes == Set(AsyncAPIDocument.serverMessages.keys) && clientTypes == Set(AsyncAPIDocument.clientMessages.keys))
        let served = try #require(try JSONSerialization.jsonObject(with: Data(AsyncAPIDocument.json().utf8)) as? [String: Any])
        #expect(served["asyncapi"] as? String == "3.0.0")
    }

    @Test("the change feed's consumer returns nil once its task is cancelled, waiting or not (a failed service must not hang the process)")
    func changeFeedCancellation() async {
        /// What `consumer` answered within 5 s; past that the feed is finished to free it, so a
        /// consumer that ignores its cancellation fails this test instead of hanging it.
        func answer(of consumer: Task<[String]?, Never>, _ feed: ChangeFeed) async -> String {
            await withTaskGroup(of: String.self) { group in
                group.addTask { await consumer.value == nil ? "nil" : "events" }
                group.addTask {
                    try? await Task.sleep(for: .seconds(5))
                    return "still waiting 5 s after its cancellation"
                }
                let first = await group.next()!
                feed.finish()
                group.cancelAll()
                return first
            }
        }
        let waitingFeed = ChangeFeed()
        let waiting = Task { await waitingFeed.next() }
        try? await Task.sleep(for: .milliseconds(50))  // it is waiting now
        waiting.cancel()
        #expect(await answer(of: waiting, waitingFeed) == "nil")
        let feed = ChangeFeed()
        let cancelledFirst = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await feed.next()
        }
        #expect(await answer(of: cancelledFirst, feed) == "nil", "cancelled before it waited")
    }

    @Test("live messages round-trip through JSON with the protocol's field names")
    func liveCodec() throws {
        let text = LiveCodec.encode(.change(.seatReleased(eventId: "e", seatId: "A1", reason: .expired, seq: 7)))
        #expect(text == #"{"eventId":"e","reason":"expired","seatId":"A1","seq":7,"type":"seat_released"}"#)
        #expect(
            try JSONDecoder().decode(LiveServerMessage.self, from: Data(text.utf8))
                == .change(.seatReleased(eventId: "e", seatId: "A1", reason: .expired, seq: 7)))
        let freed = LiveCodec.encode(.change(.seatsReleased(eventId: "e", seatIds: ["A1", "A2"], reason: .cancelled, seq: 8)))
        #expect(freed == #"{"eventId":"e","reason":"cancelled","seatIds":["A1","A2"],"seq":8,"type":"seats_released"}"#)
        #expect(
            try JSONDecoder().decode(LiveServerMessage.self, from: Data(freed.utf8))
                == .change(.seatsReleased(eventId: "e", seatIds: ["A1", "A2"], reason: .cancelled, seq: 8)))
        #expect(try LiveCodec.decode(#"{"type":"join_event","eventId":"e","sinceSeq":4}"#).get() == .joinEvent(eventId: "e", sinceSeq: 4))
        #expect(try LiveCodec.decode(#"{"type":"request_lock","eventId":"e","seatId":"B2"}"#).get() == .requestLock(eventId: "e", seatId: "B2"))
        #expect(LiveCodec.decode(#"{"type":"request_lock","eventId":"e"}"#) == .failure(.invalidField("seatId")))
        #expect(LiveCodec.decode(#"{"type":"join_event","eventId":"e","sinceSeq":"x"}"#) == .failure(.invalidField("sinceSeq")))
        #expect(LiveCodec.decode("\"just a string\"") == .failure(.malformedJSON))
    }

    @Test("the live outbox closes instead of dropping when a slow client lets it fill up")
    func outboxOverflow() async {
        let outbox = LiveOutbox(capacity: 2)
        func frame(_ text: String) -> LiveFrame { LiveFrame(bytes: ByteBuffer(string: text)) }
        #expect(outbox.send(frame("1")) && outbox.send(frame("2")))
        #expect(!outbox.send(frame("3")))
        #expect(outbox.overflowed)
        var received: [String] = []
        for await frame in outbox.messages { received.append(frame.text) }
        #expect(received == ["1", "2"], "what was queued is delivered in order; nothing after a gap")
    }
}

@Suite("SQLite durable store")
struct SQLiteStoreTests {
    @Test("the schema enforces one claim per seat, unique emails and one booking per idempotency key")
    func schemaConstraints() async throws {
        let store = try SQLiteDurableStore()
        let user = UserRecord(id: "u1", name: "U", email: "u@example.com", passwordHash: "h", role: .user, createdAtMs: 0)
        try await store.createUser(user)
        await #expect(throws: DurableStoreError.emailTaken) {
            try await store.createUser(UserRecord(id: "u2", name: "U", email: "u@example.com", passwordHash: "h", role: .user, createdAtMs: 0))
        }
        try await store.createEvent(
            EventRecord(
                id: "e1", title: "T", venue: "V", date: "2027-01-01T00:00:00.000Z", isActive: true,
                rows: 1, cols: 3, priceCents: 100, createdAtMs: 0))
        func booking(_ id: String, _ seats: [String], key: String? = nil) -> NewBooking {
            NewBooking(
                id: id, eventID: "e1", userID: "u1", seatIDs: seats, fences: Dictionary(uniqueKeysWithValues: seats.map { ($0, 5) }),
                totalCents: 100 * seats.count, idempotencyKey: key, createdAtMs: 0)
        }
        guard case .committed = try await store.commitBooking(booking("b1", ["A1", "A2"], key: "k")) else { throw TestFailure("first commit") }
        #expect(try await store.commitBooking(booking("b2", ["A3", "A2"])) == .seatsTaken(["A2"]))
        guard case .duplicateKey(let existing) = try await store.commitBooking(booking("b3", ["A3"], key: "k")) else { throw TestFailure("key") }
        #expect(existing.id == "b1")
        #expect(try await store.bookedSeats(eventID: "e1") == ["A1": "b1", "A2": "b1"])
        #expect(try await store.bookedSeatCounts(eventIDs: ["e1", "e2"]) == ["e1": 2])
        // Fencing a lapsed checkout off raises the floor above its fence.
        #expect(try await store.resolveLapsedCheckout(bookingID: "b9", eventID: "e1", fences: ["A3": 5]) == false)
        #expect(try await store.commitBooking(booking("b9", ["A3"])) == .fencedOff(["A3"]))
        #expect(try await store.resolveLapsedCheckout(bookingID: "b1", eventID: "e1", fences: ["A1": 5]) == true)
    }

    @Test("a database made before cancellation (schema v1) is migrated: its bookings keep their seats and can be cancelled")
    func migratesFromV1() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-v1-\(ProcessInfo.processInfo.processIdentifier).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        do {
            let old = try DatabaseQueue(path: path)
            try SQLiteSchema.migrator.migrate(old, upTo: "v1")
            try await old.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO users VALUES ('u1', 'U', 'u@example.com', 'h', 'user', 0);
                        INSERT INTO events (id, title, venue, date, is_active, rows, cols, price_cents, created_at_ms) VALUES ('e1', 'T', 'V', '2027-01-01T00:00:00.000Z', 1, 1, 3, 100, 0);
                        INSERT INTO bookings VALUES ('b1', 'e1', 'u1', 200, 'confirmed', 'k', 5);
                        INSERT INTO seat_claims VALUES ('e1', 'A2', 'b1', 4, 0), ('e1', 'A1', 'b1', 4, 1);
                        """)
            }
        }
        let store = try SQLiteDurableStore(path: path)
        #expect(try await store.bookings(userID: "u1").map(\.seatIDs) == [["A2", "A1"]], "the seats in booking order")
        guard
            case .cancelled(let cancelled) = try await store.cancelBooking(
                BookingCancellationRequest(bookingID: "b1", userID: "u1", atMs: 9, reason: "r"))
        else { throw TestFailure("cancel") }
        #expect(
            cancelled.seatIDs == ["A2", "A1"] && cancelled.status == "cancelled" && cancelled.cancelledAtMs == 9
                && cancelled.cancellationReason == "r")
        #expect(try await store.booking(id: "b1") == cancelled, "the v3 columns keep the cancellation's time and reason")
        #expect(try await store.bookedSeats(eventID: "e1") == [:])
    }

    @Test("hot generations grow on every call and survive reopening the file")
    func generations() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-gen-\(ProcessInfo.processInfo.processIdentifier).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let first = try await SQLiteDurableStore(path: path).nextHotGeneration()
        let second = try await SQLiteDurableStore(path: path).nextHotGeneration()
        #expect(second == first + 1)
    }

    @Test("the hand-written error envelope is byte for byte what JSONEncoder writes, for every code and awkward text")
    func handWrittenErrorEnvelope() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var random = SeededRandom(seed: 11)
        let alphabet = Array("aZ09 \"\\/\u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}\u{7f}é€😀\u{2028}\u{2029}<>&'")
        func text() -> String { String((0..<Int(random.next() % 12)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }) }
        for (index, code) in ErrorCode.allCases.enumerated() {
            for round in 0..<20 {
                var error = PulseError(status: 400 + index, code: code, message: text())
                if round % 2 == 1 { error.field = text() }
                if round % 3 == 1 { error.seatIds = (0..<Int(random.next() % 3)).map { _ in text() } }
                if round % 4 == 1 { error.outcomeUnknown = round % 8 == 1 }
                if round % 5 == 4 { error.status = 503 }
                let envelope = ErrorEnvelope(error)
                let written = try #require(envelope.handWritten)
                #expect(written == Array(try encoder.encode(envelope)), "\(String(decoding: written, as: UTF8.self))")
            }
        }
        var priced = PulseError(status: 422, code: .amountMismatch, message: "m")
        priced.expectedAmount = 12.5
        #expect(ErrorEnvelope(priced).handWritten == nil)
    }
}
