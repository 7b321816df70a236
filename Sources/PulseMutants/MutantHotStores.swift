import PulseEngine
import PulseProtocol
import Synchronization

/// `seed-release`: a release by hold id reads the caller's hold (GET), then, seat by seat, reads
/// who holds the seat now and deletes that hold (DEL), in separate steps: a hold that lapsed and
/// was taken by someone else meanwhile loses the other user's seat.
final class SeedReleaseHotStore: HotStoreDecorator {
    let inner: any HotStore
    init(_ inner: any HotStore) { self.inner = inner }

    func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        guard case .hold(let holdID) = target else {
            return try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: nowMs)
        }
        let mine = try await inner.holds(eventID: eventID, userID: userID, nowMs: nowMs)
        guard let hold = mine.first(where: { $0.id == holdID }) else { return .notFound }
        for seat in hold.seatIDs {
            guard let holder = try await inner.snapshot(eventID: eventID, nowMs: nowMs).lockedBy[seat] else { continue }
            _ = try? await inner.release(eventID: eventID, target: .seats([seat]), userID: holder, reason: reason, nowMs: nowMs)
        }
        return .released(seatIDs: hold.seatIDs)
    }
}

/// `no-fence`: checkout checks the holds and then trusts that check; the holds are unfrozen at
/// once, so they can expire and be taken while the booking commits.
final class UnfencedCheckoutHotStore: HotStoreDecorator {
    let inner: any HotStore
    init(_ inner: any HotStore) { self.inner = inner }

    func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        async throws -> BeginCheckoutOutcome
    {
        let outcome = try await inner.beginCheckout(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID, nowMs: nowMs, leaseMs: leaseMs)
        if case .begun = outcome {
            try await inner.abortCheckout(eventID: eventID, checkoutID: checkoutID, releaseHolds: false, nowMs: nowMs)
        }
        return outcome
    }
}

/// `no-seq`: each batch of changes reaches subscribers reversed.
final class UnorderedChangesHotStore: HotStoreDecorator {
    let inner: any HotStore
    init(_ inner: any HotStore) { self.inner = inner }

    func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        let outcome = try await inner.changes(eventID: eventID, afterSeq: afterSeq)
        guard case .changes(let changes) = outcome else { return outcome }
        return .changes(changes.reversed())
    }
}

/// `no-hold-cap`: the per-user cap of held seats is never reached.
final class UncappedHoldsHotStore: HotStoreDecorator {
    let inner: any HotStore
    init(_ inner: any HotStore) { self.inner = inner }

    func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome {
        try await inner.hold(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: nowMs, ttlMs: ttlMs,
            heldSeatsPerUserMax: Int.max / 2, eventStamp: eventStamp)
    }
}

/// `cancel-frees-resold`: a cancellation frees its seats by seat id (as `HDEL sold seat` would),
/// not only those its own booking still has: it remembers who booked each seat last and frees the
/// seat in that booking's name.
final class SeatwiseFreeingHotStore: HotStoreDecorator {
    let inner: any HotStore
    /// (event, seat) -> the booking that booked it last, as seen by this decorator.
    private let lastBooking = Mutex<[String: String]>([:])
    init(_ inner: any HotStore) { self.inner = inner }

    func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        try await inner.finishCheckout(eventID: eventID, checkoutID: checkoutID, seatIDs: seatIDs, nowMs: nowMs)
        lastBooking.withLock { last in for seat in seatIDs { last["\(eventID) \(seat)"] = checkoutID } }
    }

    func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String] {
        let owners = lastBooking.withLock { last in Dictionary(grouping: seatIDs) { last["\(eventID) \($0)"] ?? bookingID } }
        var freed: [String] = []
        for (owner, seats) in owners.sorted(by: { $0.key < $1.key }) {
            freed += try await inner.freeBooked(eventID: eventID, bookingID: owner, seatIDs: seats, nowMs: nowMs)
        }
        return freed
    }
}
