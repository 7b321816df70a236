/// A registered user.
public struct UserRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Stored lower-cased; unique (PB-USER-3).
    public var email: String
    public var passwordHash: String
    public var role: Role
    public var createdAtMs: Int64

    public enum Role: String, Sendable { case user, admin }

    public init(id: String, name: String, email: String, passwordHash: String, role: Role, createdAtMs: Int64) {
        self.id = id
        self.name = name
        self.email = email
        self.passwordHash = passwordHash
        self.role = role
        self.createdAtMs = createdAtMs
    }
}

/// An event and its venue.
public struct EventRecord: Sendable, Equatable {
    public var id: String
    public var title: String
    public var venue: String
    /// Normalised ISO 8601 UTC date-time.
    public var date: String
    public var description: String?
    public var isActive: Bool
    public var rows: Int
    public var cols: Int
    public var priceCents: Int
    public var createdAtMs: Int64

    public init(
        id: String, title: String, venue: String, date: String, description: String? = nil, isActive: Bool, rows: Int, cols: Int, priceCents: Int,
        createdAtMs: Int64
    ) {
        self.id = id
        self.title = title
        self.venue = venue
        self.date = date
        self.description = description
        self.isActive = isActive
        self.rows = rows
        self.cols = cols
        self.priceCents = priceCents
        self.createdAtMs = createdAtMs
    }
}

/// A booking to commit: `id` is also the checkout's id, so a lapsed checkout can be resolved.
public struct NewBooking: Sendable, Equatable {
    public var id: String
    public var eventID: String
    public var userID: String
    public var seatIDs: [String]
    /// Fence of the hold that covered each seat (PB-HOLD-7).
    public var fences: [String: Int64]
    public var totalCents: Int
    public var idempotencyKey: String?
    public var createdAtMs: Int64

    public init(
        id: String, eventID: String, userID: String, seatIDs: [String], fences: [String: Int64], totalCents: Int, idempotencyKey: String? = nil,
        createdAtMs: Int64
    ) {
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.seatIDs = seatIDs
        self.fences = fences
        self.totalCents = totalCents
        self.idempotencyKey = idempotencyKey
        self.createdAtMs = createdAtMs
    }
}

/// A booking: confirmed, or cancelled (it keeps its seats, amount and key).
public struct BookingRecord: Sendable, Equatable {
    public var id: String
    public var eventID: String
    public var userID: String
    public var seatIDs: [String]
    public var totalCents: Int
    /// `confirmed` or `cancelled` (``BookingRecord/confirmed``, ``BookingRecord/cancelled``).
    public var status: String
    public var idempotencyKey: String?
    public var createdAtMs: Int64
    public var cancelledAtMs: Int64?
    public var cancellationReason: String?

    public static let confirmed = "confirmed"
    public static let cancelled = "cancelled"

    public var isCancelled: Bool { status == Self.cancelled }

    public init(
        id: String, eventID: String, userID: String, seatIDs: [String], totalCents: Int, status: String, idempotencyKey: String? = nil,
        createdAtMs: Int64,
        cancelledAtMs: Int64? = nil, cancellationReason: String? = nil
    ) {
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.seatIDs = seatIDs
        self.totalCents = totalCents
        self.status = status
        self.idempotencyKey = idempotencyKey
        self.createdAtMs = createdAtMs
        self.cancelledAtMs = cancelledAtMs
        self.cancellationReason = cancellationReason
    }
}

/// A cancellation to record (``DurableStore/cancelBooking(_:)``).
public struct BookingCancellationRequest: Sendable, Equatable {
    public var bookingID: String
    /// Only this user's booking is found; nil for an admin, who may cancel any.
    public var userID: String?
    public var atMs: Int64
    public var reason: String?

    public init(bookingID: String, userID: String?, atMs: Int64, reason: String? = nil) {
        self.bookingID = bookingID
        self.userID = userID
        self.atMs = atMs
        self.reason = reason
    }
}

/// Answer of ``DurableStore/commitBooking(_:)``.
public enum BookingCommit: Sendable, Equatable {
    case committed(BookingRecord)
    /// These seats already have a confirmed booking (the unique claim refused them).
    case seatsTaken([String])
    /// A newer fence has been recorded for these seats: this checkout was fenced off.
    case fencedOff([String])
    /// The caller's idempotency key already names this booking.
    case duplicateKey(BookingRecord)
}

/// Answer of ``DurableStore/cancelBooking(_:)``.
public enum BookingCancellation: Sendable, Equatable {
    /// Cancelled now: its seat claims are gone, so its seats may be booked again.
    case cancelled(BookingRecord)
    /// It was cancelled before; nothing changed.
    case alreadyCancelled(BookingRecord)
    /// No booking has this id (or, for a user, none of theirs does).
    case notFound
}

/// Errors of a durable store.
public enum DurableStoreError: Error, Sendable, Equatable {
    /// The store did not answer or failed; a write may or may not have happened.
    case unavailable(String)
    /// Another user has this email.
    case emailTaken
}

/// Durable state: users, events, bookings and the per-seat claims and fence floors that make the
/// store, not the hot store, the final arbiter of who owns a seat (ARCHITECTURE.md "Fencing").
///
/// Invariants the schema itself enforces: one claim per (event, seat), one user per email,
/// one booking per (user, idempotency key). Every method is one transaction.
/// Implementations: ``SQLiteDurableStore``; MongoDB next.
public protocol DurableStore: Sendable {
    /// Inserts a user. Throws ``DurableStoreError/emailTaken``.
    func createUser(_ user: UserRecord) async throws
    func user(id: String) async throws -> UserRecord?
    func user(email: String) async throws -> UserRecord?
    /// Creates or promotes the admin named by `email` (start-up bootstrap, `pulse admin create`).
    func upsertAdmin(_ user: UserRecord) async throws -> UserRecord

    func createEvent(_ event: EventRecord) async throws
    func event(id: String) async throws -> EventRecord?
    /// Active events, soonest first.
    func activeEvents() async throws -> [EventRecord]
    func updateEvent(_ event: EventRecord) async throws
    /// Removes an event from listings (its bookings stay). Returns false when there was none.
    func deleteEvent(id: String) async throws -> Bool
    /// Number of booked seats per event id.
    func bookedSeatCounts(eventIDs: [String]) async throws -> [String: Int]
    /// Every seat of the event with a confirmed booking: seat id -> that booking's id.
    func bookedSeats(eventID: String) async throws -> [String: String]

    /// Commits a booking and its seat claims in one transaction, refusing seats already claimed
    /// and seats whose fence floor exceeds the booking's fence.
    func commitBooking(_ booking: NewBooking) async throws -> BookingCommit
    func booking(userID: String, idempotencyKey: String) async throws -> BookingRecord?
    /// The booking with this id, confirmed or cancelled.
    func booking(id: String) async throws -> BookingRecord?
    /// The user's bookings, newest first.
    func bookings(userID: String) async throws -> [BookingRecord]
    /// Cancels a booking in one transaction: its status becomes `cancelled` (with the request's time
    /// and reason) and its seat claims go, so its seats may be booked again, while the booking, its
    /// seats and its idempotency key stay. With a `userID`, only that user's booking is found.
    /// Idempotent: a cancelled booking is answered as its first cancellation left it.
    func cancelBooking(_ request: BookingCancellationRequest) async throws -> BookingCancellation
    /// Decides a checkout whose lease lapsed: true if its booking committed; otherwise raises the
    /// fence floor of its seats above its fences, so that the paused commit can never land.
    func resolveLapsedCheckout(bookingID: String, eventID: String, fences: [String: Int64]) async throws -> Bool

    /// A number that grows on every call: the generation of a fresh hot state.
    func nextHotGeneration() async throws -> Int64

    /// Answers when the store can serve reads (readiness). Throws ``DurableStoreError/unavailable(_:)``.
    func ping() async throws
}
