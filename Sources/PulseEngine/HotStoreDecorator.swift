import PulseProtocol

/// A hot store wrapped around another: every method forwards to ``inner`` unless the decorator
/// implements it itself. For stores that intercept a few calls (injected stalls and faults, a
/// harness's known-broken variants). A decorator's own steps are atomic only where it makes
/// one call to ``inner``.
public protocol HotStoreDecorator: HotStore {
    var inner: any HotStore { get }
}

extension HotStoreDecorator {
    public var changeFeed: ChangeFeed { inner.changeFeed }
    public func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome {
        try await inner.hold(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: nowMs, ttlMs: ttlMs,
            heldSeatsPerUserMax: heldSeatsPerUserMax, eventStamp: eventStamp)
    }
    public func eventStamp(eventID: String) async throws -> Int64 { try await inner.eventStamp(eventID: eventID) }
    public func touchEvent(eventID: String) async throws { try await inner.touchEvent(eventID: eventID) }
    public func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: nowMs)
    }
    public func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64?, lifetimeMs: Int64, lifetimeForTTLMs: Int64)
        async throws -> ExtendOutcome
    {
        try await inner.extend(
            eventID: eventID, holdID: holdID, userID: userID, nowMs: nowMs, byMs: byMs, lifetimeMs: lifetimeMs, lifetimeForTTLMs: lifetimeForTTLMs)
    }
    public func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        async throws -> BeginCheckoutOutcome
    {
        try await inner.beginCheckout(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID, nowMs: nowMs, leaseMs: leaseMs)
    }
    public func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        try await inner.finishCheckout(eventID: eventID, checkoutID: checkoutID, seatIDs: seatIDs, nowMs: nowMs)
    }
    public func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String] {
        try await inner.freeBooked(eventID: eventID, bookingID: bookingID, seatIDs: seatIDs, nowMs: nowMs)
    }
    public func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws {
        try await inner.abortCheckout(eventID: eventID, checkoutID: checkoutID, releaseHolds: releaseHolds, nowMs: nowMs)
    }
    public func lapsedCheckouts(nowMs: Int64) async throws -> [CheckoutTicket] { try await inner.lapsedCheckouts(nowMs: nowMs) }
    public func expireDue(nowMs: Int64) async throws -> Int { try await inner.expireDue(nowMs: nowMs) }
    public func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot { try await inner.snapshot(eventID: eventID, nowMs: nowMs) }
    public func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        try await inner.changes(eventID: eventID, afterSeq: afterSeq)
    }
    public func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord] {
        try await inner.holds(eventID: eventID, userID: userID, nowMs: nowMs)
    }
    public func soldSeats(eventID: String) async throws -> [String: String] { try await inner.soldSeats(eventID: eventID) }
    public func loadBooked(eventID: String, bookings: [String: String]) async throws {
        try await inner.loadBooked(eventID: eventID, bookings: bookings)
    }
    public func countHit(key: String, limit: Int, windowMs: Int64, nowMs: Int64) async throws -> Int64? {
        try await inner.countHit(key: key, limit: limit, windowMs: windowMs, nowMs: nowMs)
    }
    public func dropEvent(eventID: String) async throws { try await inner.dropEvent(eventID: eventID) }
    public func ping() async throws { try await inner.ping() }
}
