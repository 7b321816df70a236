import PulseProtocol

/// The hot store of a `--test-control` server: the real one, plus the stall a request asked for
/// after its first step (PB-TEST-5). Requests without test-control headers pass straight through.
public final class TestControlHotStore: HotStore {
    public let inner: any HotStore
    public var changeFeed: ChangeFeed { inner.changeFeed }

    public init(_ inner: any HotStore) { self.inner = inner }

    private func step<T>(_ body: () async throws -> T) async throws -> T {
        let result = try await body()
        await sleepMs(TestControlRequest.current?.stallAfterHotStep())
        return result
    }

    public func hold(eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int) async throws -> HoldOutcome {
        try await step { try await inner.hold(eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: nowMs, ttlMs: ttlMs, heldSeatsPerUserMax: heldSeatsPerUserMax) }
    }
    public func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        try await step { try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: nowMs) }
    }
    public func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64, lifetimeMaxMs: Int64) async throws -> ExtendOutcome {
        try await step { try await inner.extend(eventID: eventID, holdID: holdID, userID: userID, nowMs: nowMs, byMs: byMs, lifetimeMaxMs: lifetimeMaxMs) }
    }
    public func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64) async throws -> BeginCheckoutOutcome {
        try await step { try await inner.beginCheckout(eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID, nowMs: nowMs, leaseMs: leaseMs) }
    }
    public func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        try await step { try await inner.finishCheckout(eventID: eventID, checkoutID: checkoutID, seatIDs: seatIDs, nowMs: nowMs) }
    }
    public func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws {
        try await step { try await inner.abortCheckout(eventID: eventID, checkoutID: checkoutID, releaseHolds: releaseHolds, nowMs: nowMs) }
    }
    public func lapsedCheckouts(nowMs: Int64) async throws -> [CheckoutTicket] { try await inner.lapsedCheckouts(nowMs: nowMs) }
    public func expireDue(nowMs: Int64) async throws -> Int { try await inner.expireDue(nowMs: nowMs) }
    public func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        try await step { try await inner.snapshot(eventID: eventID, nowMs: nowMs) }
    }
    public func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome { try await inner.changes(eventID: eventID, afterSeq: afterSeq) }
    public func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord] {
        try await step { try await inner.holds(eventID: eventID, userID: userID, nowMs: nowMs) }
    }
    public func loadBooked(eventID: String, seatIDs: [String]) async throws { try await inner.loadBooked(eventID: eventID, seatIDs: seatIDs) }
    public func dropEvent(eventID: String) async throws { try await inner.dropEvent(eventID: eventID) }
}

/// The durable store of a `--test-control` server: the real one, plus the stall a request asked
/// for before committing a booking (PB-TEST-5).
public final class TestControlDurableStore: DurableStoreDecorator {
    public let inner: any DurableStore

    public init(_ inner: any DurableStore) { self.inner = inner }

    public func commitBooking(_ booking: NewBooking) async throws -> BookingCommit {
        await sleepMs(TestControlRequest.current?.stallBeforeCommitMs)
        return try await inner.commitBooking(booking)
    }
}
