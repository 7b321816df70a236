import PulseProtocol
import Synchronization

/// The embedded hot store: every event's hot state in this process's memory, each operation one
/// step under one lock (so every step is atomic, as ``HotStore`` demands).
///
/// Its state dies with the process. `generation` must grow on every start (the server takes it from
/// the durable store) so that seqs and fences of a new generation exceed every earlier one.
public final class InMemoryHotStore: HotStore {
    public let changeFeed = ChangeFeed()
    private let base: Int64
    private let logCapacity: Int
    private let events = Mutex<[String: InMemoryEventState]>([:])
    /// The last event stamp given out: a state made anew (after ``dropEvent(eventID:)``) never
    /// repeats an earlier stamp, and a store of a later generation starts above every earlier one.
    private let lastStamp: Atomic<Int64>
    private let hitCounter = SlidingWindowCounter()

    /// Seqs and fences of this generation start above `generation << 32`.
    public init(generation: Int64, logCapacity: Int = 1024) {
        precondition(generation >= 0 && generation < (1 << 30), "generation out of range")
        self.base = generation << 32
        self.logCapacity = logCapacity
        lastStamp = Atomic(generation << 32)
    }

    /// A copy of the whole state as it is now, as an asynchronous replica holds it (the simulator's
    /// failover promotes such a copy taken a little earlier). Its change feed is its own.
    public func replicaCopy() -> InMemoryHotStore {
        let state = events.withLock { $0 }
        let copy = InMemoryHotStore(base: base, logCapacity: logCapacity, lastStamp: lastStamp.load(ordering: .relaxed))
        copy.events.withLock { $0 = state }
        return copy
    }

    private init(base: Int64, logCapacity: Int, lastStamp: Int64) {
        self.base = base
        self.logCapacity = logCapacity
        self.lastStamp = Atomic(lastStamp)
    }

    private func nextStamp() -> Int64 { lastStamp.add(1, ordering: .relaxed).newValue }

    /// Runs one atomic step on an event's state: first expires its lapsed holds, then `body`.
    private func step<T>(_ eventID: String, nowMs: Int64?, _ body: (inout InMemoryEventState) -> (T, [SeatChange])) -> T {
        let (result, changed) = events.withLock { events in
            if events[eventID] == nil {
                events[eventID] = InMemoryEventState(eventID: eventID, base: base, stamp: nextStamp(), logCapacity: logCapacity)
            }
            // Mutated in place: a copy out of the dictionary would copy every table of the event on write.
            let expired = nowMs.map { events[eventID]!.expireDue(nowMs: $0) } ?? []
            let (result, changes) = body(&events[eventID]!)
            return (result, !(expired.isEmpty && changes.isEmpty))
        }
        if changed { changeFeed.markChanged(eventID) }
        return result
    }

    public func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome {
        step(eventID, nowMs: nowMs) { state in
            if let eventStamp, eventStamp != state.stamp { return (.staleEvent(stamp: state.stamp), []) }
            return state.hold(seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: nowMs, ttlMs: ttlMs, heldSeatsPerUserMax: heldSeatsPerUserMax)
        }
    }

    public func eventStamp(eventID: String) async throws -> Int64 {
        step(eventID, nowMs: nil) { ($0.stamp, []) }
    }

    public func touchEvent(eventID: String) async throws {
        step(eventID, nowMs: nil) { state in
            state.stamp = nextStamp()
            return ((), [])
        }
    }

    public func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        step(eventID, nowMs: nowMs) { $0.release(target: target, userID: userID, reason: reason) }
    }

    public func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64?, lifetimeMs: Int64, lifetimeForTTLMs: Int64)
        async throws -> ExtendOutcome
    {
        step(eventID, nowMs: nowMs) {
            ($0.extend(holdID: holdID, userID: userID, nowMs: nowMs, byMs: byMs, lifetimeMs: lifetimeMs, lifetimeForTTLMs: lifetimeForTTLMs), [])
        }
    }

    public func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        async throws -> BeginCheckoutOutcome
    {
        step(eventID, nowMs: nowMs) {
            ($0.beginCheckout(seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID, nowMs: nowMs, leaseMs: leaseMs), [])
        }
    }

    public func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        step(eventID, nowMs: nowMs) { ((), $0.finishCheckout(checkoutID: checkoutID, seatIDs: seatIDs)) }
    }

    public func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String] {
        step(eventID, nowMs: nowMs) { $0.freeBooked(bookingID: bookingID, seatIDs: seatIDs) }
    }

    public func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws {
        step(eventID, nowMs: nowMs) { ((), $0.abortCheckout(checkoutID: checkoutID, releaseHolds: releaseHolds, nowMs: nowMs)) }
    }

    public func lapsedCheckouts(nowMs: Int64) async throws -> [CheckoutTicket] {
        events.withLock { events in
            events.values.flatMap { $0.checkouts.values.filter { $0.leaseUntilMs <= nowMs } }
                .sorted { ($0.leaseUntilMs, $0.checkoutID) < ($1.leaseUntilMs, $1.checkoutID) }
        }
    }

    public func expireDue(nowMs: Int64) async throws -> Int {
        let (changedEvents, expiredSeats) = events.withLock { events -> ([String], Int) in
            var changed: [String] = []
            var seats = 0
            for eventID in events.keys.sorted() {
                let changes = events[eventID]!.expireDue(nowMs: nowMs)
                if !changes.isEmpty {
                    changed.append(eventID)
                    seats += changes.count
                }
            }
            return (changed, seats)
        }
        changedEvents.forEach(changeFeed.markChanged)
        return expiredSeats
    }

    public func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        step(eventID, nowMs: nowMs) { ($0.snapshot(), []) }
    }

    public func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        step(eventID, nowMs: nil) { ($0.changes(afterSeq: afterSeq), []) }
    }

    public func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord] {
        step(eventID, nowMs: nowMs) { state in
            (state.holds.values.filter { $0.userID == userID }.sorted { ($0.createdAtMs, $0.id) < ($1.createdAtMs, $1.id) }, [])
        }
    }

    public func soldSeats(eventID: String) async throws -> [String: String] {
        step(eventID, nowMs: nil) { ($0.booked, []) }
    }

    public func loadBooked(eventID: String, bookings: [String: String]) async throws {
        step(eventID, nowMs: nil) { state in
            // A booking cancelled meanwhile (read from the durable store before its cancel) stays cancelled.
            state.booked.merge(bookings.filter { !state.cancelledBookingIDs.contains($0.value) }) { _, loaded in loaded }
            return ((), [])
        }
    }

    /// Always answers: the state is this process's memory.
    public func ping() async throws {}

    /// Counted in this process only: the embedded store serves one instance.
    public func countHit(key: String, limit: Int, windowMs: Int64, nowMs: Int64) async throws -> Int64? {
        hitCounter.hit(key, limit: limit, windowMs: windowMs, nowMs: nowMs)
    }

    /// The deleted event's state stays (without holds) as a tombstone whose log its subscribers
    /// read `event_deleted` from; a log holds at most `logCapacity` changes.
    public func dropEvent(eventID: String) async throws {
        let stamp = nextStamp()
        step(eventID, nowMs: nil) { state in ((), state.delete(stamp: stamp)) }
    }
}
