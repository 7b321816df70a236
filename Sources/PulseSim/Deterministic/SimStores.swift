import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario
import Synchronization

/// The hot store of a simulation: the real in-memory hot store, with a scheduling point before
/// every step, so the scheduler chooses how concurrent requests interleave at the store. Times are
/// the engine's, as a real store gets them: a request paused before its step acts with the time it
/// read before the pause.
final class SimHotStore: HotStore {
    private let current: Mutex<any HotStore>
    let faults: SimFaults
    var inner: any HotStore { current.withLock { $0 } }
    var changeFeed: ChangeFeed { inner.changeFeed }

    init(_ inner: any HotStore, faults: SimFaults) {
        current = Mutex(inner)
        self.faults = faults
    }

    /// The hot store loses every bit of its state (a Redis restart without persistence) and is
    /// replaced by `fresh`, as a Redis-backed server rebuilds an event from the durable store.
    func replace(with fresh: any HotStore) { current.withLock { $0 = fresh } }

    private func turn() async throws { try await faults.turn() }

    func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome {
        try await turn()
        return try await inner.hold(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: nowMs, ttlMs: ttlMs,
            heldSeatsPerUserMax: heldSeatsPerUserMax, eventStamp: eventStamp)
    }
    func ping() async throws {
        try await turn()
        try await inner.ping()
    }
    func eventStamp(eventID: String) async throws -> Int64 {
        try await turn()
        return try await inner.eventStamp(eventID: eventID)
    }
    func touchEvent(eventID: String) async throws {
        try await turn()
        try await inner.touchEvent(eventID: eventID)
    }
    func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        try await turn()
        return try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: nowMs)
    }
    func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64?, lifetimeMs: Int64, lifetimeForTTLMs: Int64) async throws
        -> ExtendOutcome
    {
        try await turn()
        return try await inner.extend(
            eventID: eventID, holdID: holdID, userID: userID, nowMs: nowMs, byMs: byMs, lifetimeMs: lifetimeMs, lifetimeForTTLMs: lifetimeForTTLMs)
    }
    func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        async throws -> BeginCheckoutOutcome
    {
        try await turn()
        return try await inner.beginCheckout(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID, nowMs: nowMs, leaseMs: leaseMs)
    }
    func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        try await turn()
        try await inner.finishCheckout(eventID: eventID, checkoutID: checkoutID, seatIDs: seatIDs, nowMs: nowMs)
    }
    func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws {
        try await turn()
        try await inner.abortCheckout(eventID: eventID, checkoutID: checkoutID, releaseHolds: releaseHolds, nowMs: nowMs)
    }
    func lapsedCheckouts(nowMs: Int64) async throws -> [CheckoutTicket] {
        try await turn()
        return try await inner.lapsedCheckouts(nowMs: nowMs)
    }
    func expireDue(nowMs: Int64) async throws -> Int {
        try await turn()
        return try await inner.expireDue(nowMs: nowMs)
    }
    func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        try await turn()
        return try await inner.snapshot(eventID: eventID, nowMs: nowMs)
    }
    func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        try await turn()
        return try await inner.changes(eventID: eventID, afterSeq: afterSeq)
    }
    func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord] {
        try await turn()
        return try await inner.holds(eventID: eventID, userID: userID, nowMs: nowMs)
    }
    func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String] {
        try await turn()
        return try await inner.freeBooked(eventID: eventID, bookingID: bookingID, seatIDs: seatIDs, nowMs: nowMs)
    }
    func soldSeats(eventID: String) async throws -> [String: String] {
        try await turn()
        return try await inner.soldSeats(eventID: eventID)
    }
    func loadBooked(eventID: String, bookings: [String: String]) async throws {
        try await turn()
        try await inner.loadBooked(eventID: eventID, bookings: bookings)
    }
    func dropEvent(eventID: String) async throws {
        try await turn()
        try await inner.dropEvent(eventID: eventID)
    }
    func countHit(key: String, limit: Int, windowMs: Int64, nowMs: Int64) async throws -> Int64? {
        try await turn()
        return try await inner.countHit(key: key, limit: limit, windowMs: windowMs, nowMs: nowMs)
    }
}
