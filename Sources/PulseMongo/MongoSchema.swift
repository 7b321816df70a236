import PulseEngine

/// The collections and indexes of the MongoDB durable store. The invariants that can live in the
/// database do (ARCHITECTURE.md "The durable store is the final arbiter"): one claim per (event, seat) and one user per email
/// are unique indexes; one booking per (user, idempotency key) and one outcome per checkout are
/// unique `_id`s.
enum MongoSchema {
    static let users = "users"
    static let events = "events"
    static let bookings = "bookings"
    /// One document per booked seat: `{eventId, seatId, bookingId, fence}`.
    static let seatClaims = "seat_claims"
    /// A seat's fence floor: a commit whose fence is below it is fenced off (PB-HOLD-7).
    static let fenceFloors = "fence_floors"
    /// `_id: {userId, key}` → the booking the key names.
    static let idempotencyKeys = "idempotency_keys"
    /// `_id: checkout id` → `committed` or `fenced`: a commit and the resolution of its lapsed
    /// lease both write this one document, so two concurrent transactions can never both win
    /// (snapshot isolation alone would let each miss the other's writes).
    static let checkouts = "checkouts"
    static let meta = "meta"

    /// `createIndexes` commands, one per collection; creating an index that exists is a no-op.
    static let indexes: [(collection: String, name: String, keys: BSONDocument, unique: Bool)] = [
        (users, "email_unique", ["email": 1], true),
        (events, "listing", ["deleted": 1, "isActive": 1, "date": 1, "_id": 1], false),
        (bookings, "by_user", ["userId": 1, "createdAtMs": -1, "_id": -1], false),
        (bookings, "by_event", ["eventId": 1, "createdAtMs": 1, "_id": 1], false),
        (seatClaims, "event_seat_unique", ["eventId": 1, "seatId": 1], true),
    ]

    static func createIndexCommands() -> [BSONDocument] {
        Dictionary(grouping: indexes, by: \.collection).sorted { $0.key < $1.key }.map { collection, indexes in
            [
                "createIndexes": .string(collection),
                "indexes": .array(indexes.map { .document(["key": .document($0.keys), "name": .string($0.name), "unique": .bool($0.unique)]) }),
            ]
        }
    }

    static func floorID(event: String, seat: String) -> BSONValue { .string("\(event)/\(seat)") }
    static func keyID(user: String, key: String) -> BSONValue { .document(["userId": .string(user), "key": .string(key)]) }

    // MARK: Records

    static func document(_ user: UserRecord) -> BSONDocument {
        [
            "_id": .string(user.id), "name": .string(user.name), "email": .string(user.email), "passwordHash": .string(user.passwordHash),
            "role": .string(user.role.rawValue), "createdAtMs": .int64(user.createdAtMs),
        ]
    }

    static func user(_ document: BSONDocument) -> UserRecord? {
        guard let id = document["_id"]?.string, let email = document["email"]?.string else { return nil }
        return UserRecord(
            id: id, name: document["name"]?.string ?? "", email: email, passwordHash: document["passwordHash"]?.string ?? "",
            role: UserRecord.Role(rawValue: document["role"]?.string ?? "") ?? .user,
            createdAtMs: document["createdAtMs"]?.int64 ?? 0)
    }

    static func document(_ event: EventRecord) -> BSONDocument {
        [
            "_id": .string(event.id), "title": .string(event.title), "venue": .string(event.venue), "date": .string(event.date),
            "description": .optional(event.description), "isActive": .bool(event.isActive), "rows": .int(event.rows), "cols": .int(event.cols),
            "priceCents": .int(event.priceCents), "createdAtMs": .int64(event.createdAtMs), "deleted": false,
        ]
    }

    static func event(_ document: BSONDocument) -> EventRecord? {
        guard let id = document["_id"]?.string else { return nil }
        return EventRecord(
            id: id, title: document["title"]?.string ?? "", venue: document["venue"]?.string ?? "",
            date: document["date"]?.string ?? "", description: document["description"]?.string,
            isActive: document["isActive"]?.bool ?? false, rows: Int(document["rows"]?.int64 ?? 0),
            cols: Int(document["cols"]?.int64 ?? 0), priceCents: Int(document["priceCents"]?.int64 ?? 0),
            createdAtMs: document["createdAtMs"]?.int64 ?? 0)
    }

    static func document(_ booking: NewBooking) -> BSONDocument {
        var document: BSONDocument = [
            "_id": .string(booking.id), "eventId": .string(booking.eventID), "userId": .string(booking.userID),
            "seatIds": .strings(booking.seatIDs), "totalCents": .int(booking.totalCents), "status": "confirmed",
            "createdAtMs": .int64(booking.createdAtMs),
        ]
        if let key = booking.idempotencyKey { document["idempotencyKey"] = .string(key) }
        return document
    }

    static func booking(_ document: BSONDocument) -> BookingRecord? {
        guard let id = document["_id"]?.string else { return nil }
        return BookingRecord(
            id: id, eventID: document["eventId"]?.string ?? "", userID: document["userId"]?.string ?? "",
            seatIDs: (document["seatIds"]?.array ?? []).compactMap(\.string), totalCents: Int(document["totalCents"]?.int64 ?? 0),
            status: document["status"]?.string ?? "", idempotencyKey: document["idempotencyKey"]?.string,
            createdAtMs: document["createdAtMs"]?.int64 ?? 0, cancelledAtMs: document["cancelledAtMs"]?.int64,
            cancellationReason: document["cancellationReason"]?.string)
    }
}
