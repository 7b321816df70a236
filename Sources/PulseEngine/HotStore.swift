import PulseProtocol

/// A hold as the hot store keeps it.
public struct HoldRecord: Sendable, Equatable {
    /// The hold's secret token.
    public var id: String
    public var eventID: String
    public var userID: String
    /// Seats still covered, in the order they were requested.
    public var seatIDs: [String]
    public var fence: Int64
    public var createdAtMs: Int64
    public var expiresAtMs: Int64
    /// The TTL it was granted with (the server's, or another one the caller asked for): it bounds an
    /// extension's `seconds` and, scaled, the hold's lifetime (PB-HOLD-9).
    public var ttlMs: Int64
    /// Set while a checkout is committing this hold: it can then neither expire, be released
    /// nor be extended until the checkout finishes, aborts or its lease runs out.
    public var checkoutID: String?

    public init(
        id: String, eventID: String, userID: String, seatIDs: [String], fence: Int64, createdAtMs: Int64, expiresAtMs: Int64,
        ttlMs: Int64, checkoutID: String? = nil
    ) {
        self.id = id
        self.eventID = eventID
        self.userID = userID
        self.seatIDs = seatIDs
        self.fence = fence
        self.createdAtMs = createdAtMs
        self.expiresAtMs = expiresAtMs
        self.ttlMs = ttlMs
        self.checkoutID = checkoutID
    }
}

/// The live, fenced holds a checkout has frozen (PB-CHECKOUT-3).
public struct CheckoutTicket: Sendable, Equatable {
    public var checkoutID: String
    public var eventID: String
    public var userID: String
    public var seatIDs: [String]
    /// The fence of the hold covering each seat.
    public var fences: [String: Int64]
    public var leaseUntilMs: Int64

    public init(checkoutID: String, eventID: String, userID: String, seatIDs: [String], fences: [String: Int64], leaseUntilMs: Int64) {
        self.checkoutID = checkoutID
        self.eventID = eventID
        self.userID = userID
        self.seatIDs = seatIDs
        self.fences = fences
        self.leaseUntilMs = leaseUntilMs
    }
}

/// A consistent view of one event's hot state at `seq` (PB-SEAT-2).
public struct HotSnapshot: Sendable, Equatable {
    public var seq: Int64
    /// Holder user id of every held seat.
    public var lockedBy: [String: String]
    public var booked: Set<String>

    public init(seq: Int64, lockedBy: [String: String], booked: Set<String>) {
        self.seq = seq
        self.lockedBy = lockedBy
        self.booked = booked
    }
}

/// Answer of ``HotStore/hold(_:)``.
public enum HoldOutcome: Sendable, Equatable {
    case granted(HoldRecord)
    /// Some seats are held by someone else, booked, or held by the caller already.
    case unavailable(seatIDs: [String])
    /// The caller would hold more than the per-user cap.
    case limitExceeded(heldSeats: Int)
    /// The event changed (updated, deleted, or its hot state rebuilt) since the caller read the
    /// stamp it passed: nothing was held. `stamp` is the current one; read the event again.
    case staleEvent(stamp: Int64)
}

/// Answer of ``HotStore/release(_:)``.
public enum ReleaseOutcome: Sendable, Equatable {
    case released(seatIDs: [String])
    /// No such hold, not the caller's, or none of the named seats held by the caller.
    case notFound
    case inCheckout
}

/// Answer of ``HotStore/extend(_:)``.
public enum ExtendOutcome: Sendable, Equatable {
    case extended(HoldRecord)
    case notFound
    case expired
    case inCheckout
    /// The extension asked for more than the hold's TTL (in ms).
    case beyondTTL(ttlMs: Int64)
}

/// Answer of ``HotStore/beginCheckout(_:)``.
public enum BeginCheckoutOutcome: Sendable, Equatable {
    case begun(CheckoutTicket)
    /// The named hold does not exist or is not the caller's.
    case holdNotFound
    /// The caller's hold on these seats has expired.
    case holdExpired(seatIDs: [String])
    /// These seats are not covered by a live hold of the caller (or of the named hold).
    case notHeld(seatIDs: [String])
    /// A checkout is already committing these seats.
    case inProgress(seatIDs: [String])
}

/// Answer of ``HotStore/changes(eventID:afterSeq:)``.
public enum ChangesOutcome: Sendable, Equatable {
    /// Every change after the given seq, in order and without gaps (possibly none).
    case changes([SeatChange])
    /// The log no longer reaches back that far, or the seq is from another generation: take a snapshot.
    case trimmed
}

/// What a release is aimed at.
public enum ReleaseTarget: Sendable, Equatable {
    case hold(id: String)
    case seats([String])
}

/// The hot state of every event: holds, fences, booked seats, sequence numbers and the
/// per-event change log (SPEC.md PB-HOLD, PB-LIVE-5).
///
/// Every method is **atomic**: it sees and changes one consistent state, assigns each state
/// change the event's next `seq` in that same step and appends it to the event's log, then rings
/// ``changeFeed``. Holds whose TTL has passed are expired (with a `seat_released` reason `expired`)
/// at the start of any step that touches their event, so no caller ever sees a lapsed hold as live.
/// Implementations: ``InMemoryHotStore``; Redis (Lua scripts) next.
///
/// Every method may throw ``HotStoreError/unavailable(_:)``.
public protocol HotStore: Sendable {
    /// Rung after every step that appended changes.
    var changeFeed: ChangeFeed { get }

    /// Holds every seat of `seatIDs` for `userID`, or none of them. With an `eventStamp`, holds only
    /// if the event's stamp is still that one (``HoldOutcome/staleEvent(stamp:)`` otherwise), checked
    /// in the same atomic step: a caller's cached copy of the event is never acted on once stale.
    func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome
    /// The event's stamp: it changes whenever ``touchEvent(eventID:)`` runs and whenever the event's hot
    /// state is built anew (a new generation), and never returns to an earlier value. Read it before
    /// reading the event from the durable store, so the pair is never newer on the stamp's side.
    func eventStamp(eventID: String) async throws -> Int64
    /// Moves the event's stamp on, after its durable record changed: every cached copy becomes stale.
    func touchEvent(eventID: String) async throws
    /// Compare-and-delete: releases only what `userID` holds, never a hold being checked out.
    func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome
    /// Moves a live hold's expiry to `min(nowMs + by, createdAt + lifetime)`, where the lifetime is
    /// `lifetimeMs` for a hold of TTL `lifetimeForTTLMs` and in proportion for another TTL,
    /// never earlier than it was, where `by` is `byMs` or, when nil, the hold's own TTL; a `byMs`
    /// above the hold's TTL is refused (``ExtendOutcome/beyondTTL(ttlMs:)``).
    func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64?, lifetimeMs: Int64, lifetimeForTTLMs: Int64) async throws
        -> ExtendOutcome
    /// Freezes the caller's live holds on `seatIDs` for a checkout until `nowMs + leaseMs`.
    func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        async throws -> BeginCheckoutOutcome
    /// Marks the checkout's seats booked by it (the checkout's id is its booking's id), removes them
    /// from their holds and appends `seats_booked`. Marks them booked even when the checkout is
    /// unknown (a lost hot state must not unsell a seat).
    func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws
    /// Puts the seats of `seatIDs` that booking `bookingID` has booked back on sale and appends one
    /// `seats_released` (reason `cancelled`) for them, unless the event was deleted; returns them.
    /// Seats booked by another booking since, or free already, are left alone, so a repeated call
    /// frees and appends nothing. A checkout of `bookingID` still frozen is finished first.
    func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String]
    /// Unfreezes the checkout's holds; those past their expiry expire in the same step. With
    /// `releaseHolds` (a lapsed checkout the durable store fenced off) its holds are released as `expired`.
    func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws
    /// Checkouts whose lease ran out without finishing or aborting (crash or pause mid-checkout).
    func lapsedCheckouts(nowMs: Int64) async throws -> [CheckoutTicket]
    /// Expires every hold whose TTL has passed, in every event. Returns how many seats it released.
    func expireDue(nowMs: Int64) async throws -> Int
    /// A consistent view of the event at its current seq.
    func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot
    /// The changes after `afterSeq`, or `.trimmed`.
    func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome
    /// The caller's live holds in the event.
    func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord]
    /// The seats the hot state has sold: seat -> booking id.
    func soldSeats(eventID: String) async throws -> [String: String]
    /// Loads the durable store's booked seats (seat -> booking id) into the hot state (start-up,
    /// after a loss, an event reopened).
    func loadBooked(eventID: String, bookings: [String: String]) async throws
    /// Deletes an event (PB-EVENT-7) in one atomic step: drops its holds and checkouts, moves its
    /// stamp on and appends `event_deleted` at the next seq, its last change. Afterwards a hold on
    /// it answers ``HoldOutcome/staleEvent(stamp:)`` and a finishing checkout books without a
    /// change; its log stays readable. Deleting it again does nothing.
    func dropEvent(eventID: String) async throws
    /// Answers when the store can take steps (readiness). Throws ``HotStoreError/unavailable(_:)``.
    func ping() async throws
    /// Counts one hit of `key` in the sliding window of `windowMs` that ends at `nowMs`, for every
    /// instance on this store, in one atomic step: nil when it is within `limit`, else the
    /// milliseconds until one more hit would be (a refused hit is not counted). Rate limits shared
    /// by all instances (PB-AUTH-6).
    func countHit(key: String, limit: Int, windowMs: Int64, nowMs: Int64) async throws -> Int64?
}

extension HotStore {
    /// Holds without a stamp check (callers that read the event fresh, and tests).
    public func hold(eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int)
        async throws -> HoldOutcome
    {
        try await hold(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: nowMs, ttlMs: ttlMs,
            heldSeatsPerUserMax: heldSeatsPerUserMax, eventStamp: nil)
    }
}

/// Errors of a hot store.
public enum HotStoreError: Error, Sendable, Equatable {
    /// The store did not answer (timeout, connection lost); the step may or may not have happened.
    case unavailable(String)
}
