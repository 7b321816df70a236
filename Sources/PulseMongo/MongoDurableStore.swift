import PulseEngine

/// The durable store on MongoDB through libmongoc: users, events, bookings, seat claims, fence
/// floors, idempotency keys and checkout outcomes (``MongoSchema``). Every step that writes more
/// than one document is one multi-document transaction; unique indexes make the database the
/// final arbiter of one booking per seat and one user per email. Every driver failure is
/// ``DurableStoreError/unavailable(_:)`` (a write's outcome is then unknown; the engine reports it so).
public final class MongoDurableStore: DurableStore {
    let connection: MongoConnection

    /// Connects to `url` (`mongodb://host:port/database?options`; the database defaults to `pulse`)
    /// and creates the indexes. Throws ``DurableStoreError/unavailable(_:)`` when the server cannot
    /// be reached or the URL is malformed.
    public init(url: String, connections: Int = 16) async throws {
        do {
            connection = try MongoConnection(url: url, connections: connections)
        } catch {
            throw DurableStoreError.unavailable(String(describing: error))
        }
        try await call { context in
            for command in MongoSchema.createIndexCommands() { _ = try context.command(command) }
        }
    }

    /// Runs `body` on a pooled client, turning driver failures into ``DurableStoreError``.
    private func call<T: Sendable>(_ body: @escaping @Sendable (MongoContext) throws -> T) async throws -> T {
        try await translatingErrors { try await connection.run(body) }
    }

    /// Runs `body` as one transaction, turning driver failures into ``DurableStoreError``.
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (MongoContext) throws -> T) async throws -> T {
        try await translatingErrors { try await connection.transaction(body) }
    }

    /// `work`, with a unique index's refusal thrown as `duplicate` when given, and any other driver
    /// failure as ``DurableStoreError/unavailable(_:)``.
    private func translatingErrors<T>(duplicate: DurableStoreError? = nil, _ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as MongoError {
            if let duplicate, error.isDuplicateKey { throw duplicate }
            throw DurableStoreError.unavailable(error.description)
        }
    }

    // MARK: Users

    public func createUser(_ user: UserRecord) async throws {
        try await translatingErrors(duplicate: .emailTaken) {
            try await connection.run { try $0.insertOne(MongoSchema.users, MongoSchema.document(user)) }
        }
    }

    public func user(id: String) async throws -> UserRecord? {
        try await call { try $0.findOne(MongoSchema.users, ["_id": .string(id)]).flatMap(MongoSchema.user) }
    }

    public func user(email: String) async throws -> UserRecord? {
        try await call { try $0.findOne(MongoSchema.users, ["email": .string(email)]).flatMap(MongoSchema.user) }
    }

    public func upsertAdmin(_ user: UserRecord) async throws -> UserRecord {
        try await transaction { context in
            if var existing = try context.findOne(MongoSchema.users, ["email": .string(user.email)]).flatMap(MongoSchema.user) {
                try context.updateOne(
                    MongoSchema.users, filter: ["_id": .string(existing.id)],
                    update: ["$set": ["role": "admin", "passwordHash": .string(user.passwordHash)]])
                existing.role = .admin
                existing.passwordHash = user.passwordHash
                return existing
            }
            var admin = user
            admin.role = .admin
            try context.insertOne(MongoSchema.users, MongoSchema.document(admin))
            return admin
        }
    }

    // MARK: Events

    public func createEvent(_ event: EventRecord) async throws {
        try await call { try $0.insertOne(MongoSchema.events, MongoSchema.document(event)) }
    }

    public func event(id: String) async throws -> EventRecord? {
        try await call { try $0.findOne(MongoSchema.events, ["_id": .string(id), "deleted": false]).flatMap(MongoSchema.event) }
    }

    public func activeEvents() async throws -> [EventRecord] {
        try await call {
            try $0.find(MongoSchema.events, ["deleted": false, "isActive": true], sort: ["date": 1, "_id": 1]).compactMap(MongoSchema.event)
        }
    }

    public func updateEvent(_ event: EventRecord) async throws {
        _ = try await call {
            try $0.updateOne(
                MongoSchema.events, filter: ["_id": .string(event.id), "deleted": false],
                update: [
                    "$set": [
                        "title": .string(event.title), "venue": .string(event.venue), "date": .string(event.date),
                        "description": .optional(event.description), "isActive": .bool(event.isActive),
                    ]
                ])
        }
    }

    public func deleteEvent(id: String) async throws -> Bool {
        try await call {
            try $0.updateOne(MongoSchema.events, filter: ["_id": .string(id), "deleted": false], update: ["$set": ["deleted": true]]).modified > 0
        }
    }

    public func bookedSeatCounts(eventIDs: [String]) async throws -> [String: Int] {
        guard !eventIDs.isEmpty else { return [:] }
        let groups = try await call {
            try $0.aggregate(
                MongoSchema.seatClaims,
                [
                    ["$match": ["eventId": ["$in": .strings(eventIDs)]]],
                    ["$group": ["_id": "$eventId", "n": ["$sum": 1]]],
                ])
        }
        return Dictionary(groups.compactMap { group in group["_id"]?.string.map { ($0, Int(group["n"]?.int64 ?? 0)) } }, uniquingKeysWith: +)
    }

    public func bookedSeats(eventID: String) async throws -> [String: String] {
        let claims = try await call {
            try $0.find(MongoSchema.seatClaims, ["eventId": .string(eventID)], sort: ["seatId": 1], projection: ["seatId": 1, "bookingId": 1])
        }
        return Dictionary(
            claims.compactMap { claim in claim["seatId"]?.string.map { ($0, claim["bookingId"]?.string ?? "") } },
            uniquingKeysWith: { first, _ in first })
    }

    // MARK: Bookings

    public func commitBooking(_ booking: NewBooking) async throws -> BookingCommit {
        try await transaction { context in
            if let key = booking.idempotencyKey,
                let named = try context.findOne(MongoSchema.idempotencyKeys, ["_id": MongoSchema.keyID(user: booking.userID, key: key)]),
                let existing = try context.findOne(MongoSchema.bookings, ["_id": named["bookingId"] ?? .null]).flatMap(MongoSchema.booking)
            {
                return .duplicateKey(existing)
            }
            let floorIDs = booking.seatIDs.map { MongoSchema.floorID(event: booking.eventID, seat: $0) }
            let fenced = try context.find(MongoSchema.fenceFloors, ["_id": ["$in": .array(floorIDs)]]).filter {
                ($0["floor"]?.int64 ?? 0) > booking.fences[$0["seatId"]?.string ?? "", default: 0]
            }
            if !fenced.isEmpty { return .fencedOff(fenced.compactMap { $0["seatId"]?.string }.sorted()) }
            let taken = try context.find(MongoSchema.seatClaims, ["eventId": .string(booking.eventID), "seatId": ["$in": .strings(booking.seatIDs)]])
            if !taken.isEmpty { return .seatsTaken(taken.compactMap { $0["seatId"]?.string }.sorted()) }
            // The outcome first: a resolution of this checkout's lapsed lease that committed
            // meanwhile makes this insert fail, and the run again reads the raised floors.
            try context.insertOne(MongoSchema.checkouts, ["_id": .string(booking.id), "eventId": .string(booking.eventID), "outcome": "committed"])
            try context.insertOne(MongoSchema.bookings, MongoSchema.document(booking))
            try context.insertMany(
                MongoSchema.seatClaims,
                booking.seatIDs.map { seat in
                    [
                        "eventId": .string(booking.eventID), "seatId": .string(seat), "bookingId": .string(booking.id),
                        "fence": .int64(booking.fences[seat, default: 0]),
                    ]
                })
            if let key = booking.idempotencyKey {
                try context.insertOne(
                    MongoSchema.idempotencyKeys, ["_id": MongoSchema.keyID(user: booking.userID, key: key), "bookingId": .string(booking.id)])
            }
            return .committed(
                BookingRecord(
                    id: booking.id, eventID: booking.eventID, userID: booking.userID, seatIDs: booking.seatIDs,
                    totalCents: booking.totalCents, status: "confirmed", idempotencyKey: booking.idempotencyKey,
                    createdAtMs: booking.createdAtMs))
        }
    }

    public func booking(userID: String, idempotencyKey: String) async throws -> BookingRecord? {
        try await call {
            try $0.findOne(MongoSchema.bookings, ["userId": .string(userID), "idempotencyKey": .string(idempotencyKey)]).flatMap(MongoSchema.booking)
        }
    }

    public func booking(id: String) async throws -> BookingRecord? {
        try await call { try $0.findOne(MongoSchema.bookings, ["_id": .string(id)]).flatMap(MongoSchema.booking) }
    }

    public func bookings(userID: String) async throws -> [BookingRecord] {
        try await call {
            try $0.find(MongoSchema.bookings, ["userId": .string(userID)], sort: ["createdAtMs": -1, "_id": -1]).compactMap(MongoSchema.booking)
        }
    }

    /// Every booking of an event, oldest first.
    public func bookings(eventID: String) async throws -> [BookingRecord] {
        try await call {
            try $0.find(MongoSchema.bookings, ["eventId": .string(eventID)], sort: ["createdAtMs": 1, "_id": 1]).compactMap(MongoSchema.booking)
        }
    }

    public func cancelBooking(_ request: BookingCancellationRequest) async throws -> BookingCancellation {
        try await transaction { context in
            let id = request.bookingID
            var filter: BSONDocument = ["_id": .string(id)]
            if let userID = request.userID { filter["userId"] = .string(userID) }
            guard var booking = try context.findOne(MongoSchema.bookings, filter).flatMap(MongoSchema.booking) else { return .notFound }
            if booking.isCancelled { return .alreadyCancelled(booking) }
            var set: BSONDocument = ["status": .string(BookingRecord.cancelled), "cancelledAtMs": .int64(request.atMs)]
            if let reason = request.reason { set["cancellationReason"] = .string(reason) }
            try context.updateOne(MongoSchema.bookings, filter: ["_id": .string(id)], update: ["$set": .document(set)])
            try context.deleteMany(
                MongoSchema.seatClaims,
                [
                    "eventId": .string(booking.eventID), "seatId": ["$in": .strings(booking.seatIDs)],
                    "bookingId": .string(id),
                ])
            booking.status = BookingRecord.cancelled
            booking.cancelledAtMs = request.atMs
            booking.cancellationReason = request.reason
            return .cancelled(booking)
        }
    }

    public func resolveLapsedCheckout(bookingID: String, eventID: String, fences: [String: Int64]) async throws -> Bool {
        try await transaction { context in
            if try context.findOne(MongoSchema.checkouts, ["_id": .string(bookingID)])?["outcome"]?.string == "committed" { return true }
            try context.updateOne(
                MongoSchema.checkouts, filter: ["_id": .string(bookingID)],
                update: ["$set": ["eventId": .string(eventID), "outcome": "fenced"]], upsert: true)
            for (seat, fence) in fences.sorted(by: { $0.key < $1.key }) {
                try context.updateOne(
                    MongoSchema.fenceFloors, filter: ["_id": MongoSchema.floorID(event: eventID, seat: seat)],
                    update: ["$max": ["floor": .int64(fence + 1)], "$set": ["eventId": .string(eventID), "seatId": .string(seat)]],
                    upsert: true)
            }
            return false
        }
    }

    public func nextHotGeneration() async throws -> Int64 {
        try await transaction { context in
            try context.updateOne(MongoSchema.meta, filter: ["_id": "hot_generation"], update: ["$inc": ["value": 1]], upsert: true)
            return try context.findOne(MongoSchema.meta, ["_id": "hot_generation"])?["value"]?.int64 ?? 1
        }
    }

    public func ping() async throws {
        try await call { _ = try $0.command(["ping": 1], database: "admin") }
    }
}
