import PulseEngine
import PulseProtocol

/// The hot store of a `--test-control` server: the real one, plus the stalls a request asked for
/// before and after its first step (PB-TEST-5), the hold TTL it asked for (PB-TEST-3) and the
/// checkout lease (PB-TEST-8). Requests without test-control headers pass straight through.
public final class TestControlHotStore: HotStoreDecorator {
    public let inner: any HotStore
    private let clock: any EngineClock

    /// - Parameter clock: the engine's clock, read again after a `before` stall so the step runs
    ///   at the time it really runs (a hold that lapsed during the stall is lapsed for it).
    public init(_ inner: any HotStore, clock: any EngineClock) {
        self.inner = inner
        self.clock = clock
    }

    private func step<T>(_ nowMs: Int64, _ body: (Int64) async throws -> T) async throws -> T {
        var now = nowMs
        if let ms = TestControlRequest.current?.stallBeforeHotStep() {
            await sleepMs(ms)
            now = clock.nowMs()
        }
        let result = try await body(now)
        await sleepMs(TestControlRequest.current?.stallAfterHotStep())
        return result
    }

    public func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome {
        let ttl = TestControlRequest.current?.holdTTLSeconds.map { Int64($0) * 1000 } ?? ttlMs
        return try await step(nowMs) {
            try await inner.hold(
                eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: $0, ttlMs: ttl,
                heldSeatsPerUserMax: heldSeatsPerUserMax, eventStamp: eventStamp)
        }
    }
    public func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        try await step(nowMs) { try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: $0) }
    }
    public func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64?, lifetimeMs: Int64, lifetimeForTTLMs: Int64)
        async throws -> ExtendOutcome
    {
        try await step(nowMs) {
            try await inner.extend(
                eventID: eventID, holdID: holdID, userID: userID, nowMs: $0, byMs: byMs, lifetimeMs: lifetimeMs, lifetimeForTTLMs: lifetimeForTTLMs)
        }
    }
    public func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        async throws -> BeginCheckoutOutcome
    {
        let lease = TestControlRequest.current?.checkoutLeaseMs.map(Int64.init) ?? leaseMs
        return try await step(nowMs) {
            try await inner.beginCheckout(
                eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID, nowMs: $0, leaseMs: lease)
        }
    }
    public func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        try await step(nowMs) { try await inner.finishCheckout(eventID: eventID, checkoutID: checkoutID, seatIDs: seatIDs, nowMs: $0) }
    }
    public func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String] {
        try await step(nowMs) { try await inner.freeBooked(eventID: eventID, bookingID: bookingID, seatIDs: seatIDs, nowMs: $0) }
    }
    public func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws {
        try await step(nowMs) { try await inner.abortCheckout(eventID: eventID, checkoutID: checkoutID, releaseHolds: releaseHolds, nowMs: $0) }
    }
    public func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        try await step(nowMs) { try await inner.snapshot(eventID: eventID, nowMs: $0) }
    }
    public func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord] {
        try await step(nowMs) { try await inner.holds(eventID: eventID, userID: userID, nowMs: $0) }
    }
}

/// The durable store of a `--test-control` server: the real one, plus the stall a request asked
/// for before committing a booking (PB-TEST-5) and the failure it asked for (PB-TEST-7).
public final class TestControlDurableStore: DurableStoreDecorator {
    public let inner: any DurableStore

    public init(_ inner: any DurableStore) { self.inner = inner }

    public func commitBooking(_ booking: NewBooking) async throws -> BookingCommit {
        await sleepMs(TestControlRequest.current?.stallBeforeCommitMs)
        switch TestControlRequest.current?.commitFault {
        case .fail?: throw DurableStoreError.unavailable("injected fault (commit failed before writing)")
        case .lost?:
            _ = try await inner.commitBooking(booking)
            throw DurableStoreError.unavailable("injected fault (the commit's answer was lost)")
        case nil: return try await inner.commitBooking(booking)
        }
    }
}
