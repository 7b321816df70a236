import PulseProtocol
import PulseReference
import Synchronization

/// The hot store of a simulation: the real in-memory hot store, with a scheduling point before
/// every step, so the scheduler chooses how concurrent requests interleave at the store.
final class SimHotStore: HotStore {
    private let current: Mutex<any HotStore>
    let faults: SimFaults
    var scheduler: SimScheduler { faults.scheduler }
    var inner: any HotStore { current.withLock { $0 } }
    var changeFeed: ChangeFeed { inner.changeFeed }

    init(_ inner: any HotStore, faults: SimFaults) {
        current = Mutex(inner)
        self.faults = faults
    }

    /// The hot store loses every bit of its state (a Redis restart without persistence) and is
    /// replaced by `fresh`, as a Redis-backed server rebuilds an event from the durable store.
    func replace(with fresh: any HotStore) { current.withLock { $0 = fresh } }

    private func turn() async { await faults.turn() }

    func hold(eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int) async throws -> HoldOutcome {
        await turn()
        return try await inner.hold(eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: scheduler.clock.nowMs(), ttlMs: ttlMs, heldSeatsPerUserMax: heldSeatsPerUserMax)
    }
    func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        await turn()
        return try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: scheduler.clock.nowMs())
    }
    func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64, lifetimeMaxMs: Int64) async throws -> ExtendOutcome {
        await turn()
        return try await inner.extend(eventID: eventID, holdID: holdID, userID: userID, nowMs: scheduler.clock.nowMs(), byMs: byMs, lifetimeMaxMs: lifetimeMaxMs)
    }
    func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64) async throws -> BeginCheckoutOutcome {
        await turn()
        return try await inner.beginCheckout(eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID, nowMs: scheduler.clock.nowMs(), leaseMs: leaseMs)
    }
    func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        await turn()
        try await inner.finishCheckout(eventID: eventID, checkoutID: checkoutID, seatIDs: seatIDs, nowMs: scheduler.clock.nowMs())
    }
    func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws {
        await turn()
        try await inner.abortCheckout(eventID: eventID, checkoutID: checkoutID, releaseHolds: releaseHolds, nowMs: scheduler.clock.nowMs())
    }
    func lapsedCheckouts(nowMs: Int64) async throws -> [CheckoutTicket] {
        await turn()
        return try await inner.lapsedCheckouts(nowMs: scheduler.clock.nowMs())
    }
    func expireDue(nowMs: Int64) async throws -> Int {
        await turn()
        return try await inner.expireDue(nowMs: scheduler.clock.nowMs())
    }
    func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        await turn()
        return try await inner.snapshot(eventID: eventID, nowMs: scheduler.clock.nowMs())
    }
    func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        await turn()
        return try await inner.changes(eventID: eventID, afterSeq: afterSeq)
    }
    func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord] {
        await turn()
        return try await inner.holds(eventID: eventID, userID: userID, nowMs: scheduler.clock.nowMs())
    }
    func loadBooked(eventID: String, seatIDs: [String]) async throws {
        await turn()
        try await inner.loadBooked(eventID: eventID, seatIDs: seatIDs)
    }
    func dropEvent(eventID: String) async throws {
        await turn()
        try await inner.dropEvent(eventID: eventID)
    }
}
