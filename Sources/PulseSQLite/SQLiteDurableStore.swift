import GRDB
import PulseEngine

/// The embedded durable store: SQLite through GRDB. A file under the data directory in
/// production (WAL, `synchronous=FULL`, busy timeout, so several processes may share it), or an
/// in-memory database for tests.
public final class SQLiteDurableStore: DurableStore {
    private let writer: any DatabaseWriter
    /// Whether statements run on the caller's thread (GRDB's blocking API) instead of awaiting
    /// GRDB's queue.
    private let blocking: Bool

    /// Opens (creating if needed) the database file at `path` and migrates it.
    public init(path: String) throws {
        writer = try DatabasePool(path: path, configuration: Self.configuration())
        blocking = false
        try SQLiteSchema.migrator.migrate(writer)
    }

    /// An empty in-memory database. `blocking`: run every statement on the calling thread, as the
    /// single-threaded simulator wants (no thread hop per statement); servers keep the default.
    public init(blocking: Bool = false) throws {
        writer = try DatabaseQueue(configuration: Self.configuration())
        self.blocking = blocking
        try SQLiteSchema.migrator.migrate(writer)
    }

    private static func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(5)
        config.foreignKeysEnabled = true
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return config
    }

    /// Runs a write transaction, turning every storage failure into ``DurableStoreError``.
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try blocking ? Self.blockingWrite(writer, body) : await writer.write(body)
        } catch let error as DurableStoreError {
            throw error
        } catch {
            throw DurableStoreError.unavailable(String(describing: error))
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try blocking ? Self.blockingRead(writer, body) : await writer.read(body)
        } catch {
            throw DurableStoreError.unavailable(String(describing: error))
        }
    }

    // Outside an async context, GRDB's blocking overloads are the ones chosen.
    private static func blockingWrite<T>(_ writer: any DatabaseWriter, _ body: (Database) throws -> T) throws -> T { try writer.write(body) }
    // A blocking store has one caller at a time (the simulator's thread): its reads need no
    // read-only transaction of their own, which costs more than the lookups themselves.
    private static func blockingRead<T>(_ writer: any DatabaseWriter, _ body: (Database) throws -> T) throws -> T { try writer.unsafeRead(body) }

    // MARK: Users

    public func createUser(_ user: UserRecord) async throws {
        try await write { db in
            do {
                try Self.insert(user, db)
            } catch let error as DatabaseError
                where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY
            {
                throw DurableStoreError.emailTaken
            }
        }
    }

    /// Creates many users in one transaction (simulations and benchmarks seed thousands).
    public func createUsers(_ users: [UserRecord]) async throws {
        try await write { db in for user in users { try Self.insert(user, db) } }
    }

    private static func insert(_ user: UserRecord, _ db: Database) throws {
        try db.execute(
            sql: "INSERT INTO users (id, name, email, password_hash, role, created_at_ms) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [user.id, user.name, user.email, user.passwordHash, user.role.rawValue, user.createdAtMs])
    }

    private static func user(_ row: Row) -> UserRecord {
        UserRecord(
            id: row["id"], name: row["name"], email: row["email"], passwordHash: row["password_hash"],
            role: UserRecord.Role(rawValue: row["role"]) ?? .user, createdAtMs: row["created_at_ms"])
    }

    public func user(id: String) async throws -> UserRecord? {
        try await read { db in try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE id = ?"), arguments: [id]).map(Self.user) }
    }

    public func user(email: String) async throws -> UserRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [email]).map(Self.user) }
    }

    public func upsertAdmin(_ user: UserRecord) async throws -> UserRecord {
        try await write { db in
            if let existing = try Row.fetchOne(db, sql: "SELECT * FROM users WHERE email = ?", arguments: [user.email]).map(Self.user) {
                try db.execute(sql: "UPDATE users SET role = 'admin', password_hash = ? WHERE id = ?", arguments: [user.passwordHash, existing.id])
                var promoted = existing
                promoted.role = .admin
                promoted.passwordHash = user.passwordHash
                return promoted
            }
            var admin = user
            admin.role = .admin
            try Self.insert(admin, db)
            return admin
        }
    }

    // MARK: Events

    private static func event(_ row: Row) -> EventRecord {
        EventRecord(
            id: row["id"], title: row["title"], venue: row["venue"], date: row["date"], description: row["description"],
            isActive: row["is_active"], rows: row["rows"], cols: row["cols"], priceCents: row["price_cents"],
            createdAtMs: row["created_at_ms"])
    }

    public func createEvent(_ event: EventRecord) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO events (id, title, venue, date, description, is_active, rows, cols, price_cents, created_at_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    event.id, event.title, event.venue, event.date, event.description, event.isActive, event.rows,
                    event.cols, event.priceCents, event.createdAtMs,
                ])
        }
    }

    public func event(id: String) async throws -> EventRecord? {
        try await read { db in
            try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM events WHERE id = ? AND deleted = 0"), arguments: [id]).map(Self.event)
        }
    }

    public func activeEvents() async throws -> [EventRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE deleted = 0 AND is_active = 1 ORDER BY date, id").map(Self.event)
        }
    }

    public func updateEvent(_ event: EventRecord) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE events SET title = ?, venue = ?, date = ?, description = ?, is_active = ? WHERE id = ? AND deleted = 0",
                arguments: [event.title, event.venue, event.date, event.description, event.isActive, event.id])
        }
    }

    public func deleteEvent(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE events SET deleted = 1 WHERE id = ? AND deleted = 0", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func bookedSeatCounts(eventIDs: [String]) async throws -> [String: Int] {
        guard !eventIDs.isEmpty else { return [:] }
        return try await read { db in
            let marks = Array(repeating: "?", count: eventIDs.count).joined(separator: ",")
            let rows = try Row.fetchAll(
                db, sql: "SELECT event_id, COUNT(*) AS n FROM seat_claims WHERE event_id IN (\(marks)) GROUP BY event_id",
                arguments: StatementArguments(eventIDs))
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["event_id"] as String, $0["n"] as Int) })
        }
    }

    public func bookedSeats(eventID: String) async throws -> [String: String] {
        try await read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT seat_id, booking_id FROM seat_claims WHERE event_id = ?", arguments: [eventID])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["seat_id"] as String, $0["booking_id"] as String) })
        }
    }

    // MARK: Bookings

    private static func booking(_ row: Row, _ db: Database) throws -> BookingRecord {
        let id: String = row["id"]
        let seats = try String.fetchAll(db, sql: "SELECT seat_id FROM booking_seats WHERE booking_id = ? ORDER BY position", arguments: [id])
        return BookingRecord(
            id: id, eventID: row["event_id"], userID: row["user_id"], seatIDs: seats, totalCents: row["total_cents"],
            status: row["status"], idempotencyKey: row["idempotency_key"], createdAtMs: row["created_at_ms"],
            cancelledAtMs: row["cancelled_at_ms"], cancellationReason: row["cancellation_reason"])
    }

    private static func values(_ seats: [String]) -> String {
        Array(repeating: "?", count: seats.count).joined(separator: ",")
    }

    public func commitBooking(_ booking: NewBooking) async throws -> BookingCommit {
        try await write { db in
            if let key = booking.idempotencyKey,
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM bookings WHERE user_id = ? AND idempotency_key = ?", arguments: [booking.userID, key])
            {
                return .duplicateKey(try Self.booking(row, db))
            }
            let seatArgs = StatementArguments([booking.eventID]) + StatementArguments(booking.seatIDs)
            let floors = try Row.fetchAll(
                db, sql: "SELECT seat_id, floor FROM fence_floors WHERE event_id = ? AND seat_id IN (\(Self.values(booking.seatIDs)))",
                arguments: seatArgs)
            let fenced = floors.filter { ($0["floor"] as Int64) > booking.fences[$0["seat_id"] as String, default: 0] }.map {
                $0["seat_id"] as String
            }
            if !fenced.isEmpty { return .fencedOff(fenced.sorted()) }
            let taken = try String.fetchAll(
                db, sql: "SELECT seat_id FROM seat_claims WHERE event_id = ? AND seat_id IN (\(Self.values(booking.seatIDs))) ORDER BY seat_id",
                arguments: seatArgs)
            if !taken.isEmpty { return .seatsTaken(taken) }
            try db.execute(
                sql:
                    "INSERT INTO bookings (id, event_id, user_id, total_cents, status, idempotency_key, created_at_ms) VALUES (?, ?, ?, ?, 'confirmed', ?, ?)",
                arguments: [booking.id, booking.eventID, booking.userID, booking.totalCents, booking.idempotencyKey, booking.createdAtMs])
            for (position, seat) in booking.seatIDs.enumerated() {
                try db.execute(
                    sql: "INSERT INTO seat_claims (event_id, seat_id, booking_id, fence, position) VALUES (?, ?, ?, ?, ?)",
                    arguments: [booking.eventID, seat, booking.id, booking.fences[seat, default: 0], position])
                try db.execute(
                    sql: "INSERT INTO booking_seats (booking_id, position, seat_id) VALUES (?, ?, ?)", arguments: [booking.id, position, seat])
            }
            return .committed(
                BookingRecord(
                    id: booking.id, eventID: booking.eventID, userID: booking.userID, seatIDs: booking.seatIDs,
                    totalCents: booking.totalCents, status: "confirmed", idempotencyKey: booking.idempotencyKey,
                    createdAtMs: booking.createdAtMs))
        }
    }

    public func booking(userID: String, idempotencyKey: String) async throws -> BookingRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM bookings WHERE user_id = ? AND idempotency_key = ?", arguments: [userID, idempotencyKey])
                .map { try Self.booking($0, db) }
        }
    }

    public func booking(id: String) async throws -> BookingRecord? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM bookings WHERE id = ?", arguments: [id]).map { try Self.booking($0, db) } }
    }

    public func bookings(userID: String) async throws -> [BookingRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bookings WHERE user_id = ? ORDER BY created_at_ms DESC, id DESC", arguments: [userID])
                .map { try Self.booking($0, db) }
        }
    }

    /// Every booking of an event, oldest first (the simulator's final read).
    public func bookings(eventID: String) async throws -> [BookingRecord] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM bookings WHERE event_id = ? ORDER BY created_at_ms, id", arguments: [eventID])
                .map { try Self.booking($0, db) }
        }
    }

    public func cancelBooking(_ request: BookingCancellationRequest) async throws -> BookingCancellation {
        try await write { db in
            var sql = "SELECT * FROM bookings WHERE id = ?"
            var arguments: StatementArguments = [request.bookingID]
            if let userID = request.userID {
                sql += " AND user_id = ?"
                arguments += [userID]
            }
            guard let row = try Row.fetchOne(db, sql: sql, arguments: arguments) else { return .notFound }
            var booking = try Self.booking(row, db)
            if booking.isCancelled { return .alreadyCancelled(booking) }
            try db.execute(
                sql: "UPDATE bookings SET status = ?, cancelled_at_ms = ?, cancellation_reason = ? WHERE id = ?",
                arguments: [BookingRecord.cancelled, request.atMs, request.reason, request.bookingID])
            try db.execute(sql: "DELETE FROM seat_claims WHERE booking_id = ?", arguments: [request.bookingID])
            booking.status = BookingRecord.cancelled
            booking.cancelledAtMs = request.atMs
            booking.cancellationReason = request.reason
            return .cancelled(booking)
        }
    }

    public func resolveLapsedCheckout(bookingID: String, eventID: String, fences: [String: Int64]) async throws -> Bool {
        try await write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM bookings WHERE id = ?", arguments: [bookingID]) == true { return true }
            for (seat, fence) in fences.sorted(by: { $0.key < $1.key }) {
                try db.execute(
                    sql: """
                        INSERT INTO fence_floors (event_id, seat_id, floor) VALUES (?, ?, ?)
                        ON CONFLICT (event_id, seat_id) DO UPDATE SET floor = max(floor, excluded.floor)
                        """,
                    arguments: [eventID, seat, fence + 1])
            }
            return false
        }
    }

    public func ping() async throws {
        try await read { db in try db.execute(sql: "SELECT 1") }
    }

    public func nextHotGeneration() async throws -> Int64 {
        try await write { db in
            try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('hot_generation', 1) ON CONFLICT (key) DO UPDATE SET value = value + 1")
            return try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'hot_generation'") ?? 1
        }
    }
}
