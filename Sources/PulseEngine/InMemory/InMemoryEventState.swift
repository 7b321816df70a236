import PulseProtocol

/// The hot state of one event inside ``InMemoryHotStore``; every method is one atomic step
/// because the store calls it under its lock.
struct InMemoryEventState: Sendable {
    let eventID: String
    /// First seq and fence of this generation minus one; seqs below belong to older generations.
    let base: Int64
    var seq: Int64
    var fence: Int64
    var holds: [String: HoldRecord] = [:]
    var holdBySeat: [String: String] = [:]
    var heldSeatsByUser: [String: Int] = [:]
    /// Booked seat -> its booking's id (the checkout's id), so a cancellation frees only its own seats.
    var booked: [String: String] = [:]
    var checkouts: [String: CheckoutTicket] = [:]
    var log: ChangeLog
    /// Ids of holds that expired recently, oldest first (bounded), so a late checkout hears `hold_expired`.
    var expiredHoldIDs: [String] = []
    static let expiredHoldIDsMax = 4096
    /// Ids of bookings cancelled recently, oldest first (bounded): a late finish of such a
    /// booking's checkout (the sweeper's, after it listed the lapsed lease) books nothing.
    var cancelledBookingIDs: Set<String> = []
    var cancelledBookingOrder: [String] = []
    /// Seat -> the user whose hold of it lapsed, until the seat is held or booked again, so a
    /// checkout by seat ids hears `hold_expired` rather than `hold_required` (PB-CHECKOUT-3).
    var lapsedSeatOwner: [String: String] = [:]
    /// The event's stamp (``HotStore/eventStamp(eventID:)``).
    var stamp: Int64
    /// Deleted (PB-EVENT-7): `event_deleted` was its last change; it takes no more holds and
    /// records no more changes, and its log stays readable for the subscribers still catching up.
    var deleted = false
    /// No hold expires before this (a lower bound; `.max` when there are none), so a step with
    /// nothing due does not look at every hold.
    private var expiresNoEarlierThanMs: Int64 = .max

    init(eventID: String, base: Int64, stamp: Int64, logCapacity: Int) {
        self.eventID = eventID
        self.base = base
        self.stamp = stamp
        self.seq = base
        self.fence = base
        self.log = ChangeLog(capacity: logCapacity)
    }

    /// Assigns the next seq to a change (built from the event id and that seq) and logs it.
    private mutating func record(_ make: (String, Int64) -> SeatChange) -> SeatChange {
        seq += 1
        let change = make(eventID, seq)
        log.append(change)
        return change
    }

    /// Removes one seat from its hold (and the hold once it is empty), keeping the indexes true.
    private mutating func unhold(seat: String) {
        guard let holdID = holdBySeat.removeValue(forKey: seat), var hold = holds[holdID] else { return }
        hold.seatIDs.removeAll { $0 == seat }
        heldSeatsByUser[hold.userID, default: 1] -= 1
        if heldSeatsByUser[hold.userID] == 0 { heldSeatsByUser[hold.userID] = nil }
        holds[holdID] = hold.seatIDs.isEmpty ? nil : hold
    }

    private mutating func releaseSeats(_ seats: [String], reason: ReleaseReason) -> [SeatChange] {
        seats.map { seat in
            unhold(seat: seat)
            return record { .seatReleased(eventId: $0, seatId: seat, reason: reason, seq: $1) }
        }
    }

    /// Expires every hold past its TTL that no checkout has frozen, in (expiry, id) order.
    mutating func expireDue(nowMs: Int64) -> [SeatChange] {
        guard nowMs >= expiresNoEarlierThanMs else { return [] }
        defer { expiresNoEarlierThanMs = holds.values.lazy.map(\.expiresAtMs).min() ?? .max }
        let due = holds.values
            .filter { $0.checkoutID == nil && $0.expiresAtMs <= nowMs }
            .sorted { ($0.expiresAtMs, $0.id) < ($1.expiresAtMs, $1.id) }
        var changes: [SeatChange] = []
        for hold in due {
            changes += lapse(hold)
        }
        return changes
    }

    /// Releases a hold whose time ran out (`expired`) and remembers it and its seats' owner.
    private mutating func lapse(_ hold: HoldRecord) -> [SeatChange] {
        for seat in hold.seatIDs { lapsedSeatOwner[seat] = hold.userID }
        expiredHoldIDs.append(hold.id)
        if expiredHoldIDs.count > Self.expiredHoldIDsMax { expiredHoldIDs.removeFirst(expiredHoldIDs.count - Self.expiredHoldIDsMax) }
        return releaseSeats(hold.seatIDs, reason: .expired)
    }

    mutating func hold(seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int) -> (
        HoldOutcome, [SeatChange]
    ) {
        // The caller read the event before it was deleted: reading it again answers that it is gone.
        if deleted { return (.staleEvent(stamp: stamp), []) }
        let unavailable = seatIDs.filter { booked[$0] != nil || holdBySeat[$0] != nil }
        guard unavailable.isEmpty else { return (.unavailable(seatIDs: unavailable), []) }
        let alreadyHeld = heldSeatsByUser[userID, default: 0]
        guard alreadyHeld + seatIDs.count <= heldSeatsPerUserMax else { return (.limitExceeded(heldSeats: alreadyHeld), []) }
        fence += 1
        let hold = HoldRecord(
            id: holdID, eventID: eventID, userID: userID, seatIDs: seatIDs, fence: fence, createdAtMs: nowMs, expiresAtMs: nowMs + ttlMs, ttlMs: ttlMs
        )
        holds[holdID] = hold
        expiresNoEarlierThanMs = min(expiresNoEarlierThanMs, hold.expiresAtMs)
        heldSeatsByUser[userID] = alreadyHeld + seatIDs.count
        let changes = seatIDs.map { seat in
            holdBySeat[seat] = holdID
            lapsedSeatOwner[seat] = nil
            return record { .seatLocked(eventId: $0, seatId: seat, lockedBy: userID, seq: $1) }
        }
        return (.granted(hold), changes)
    }

    mutating func release(target: ReleaseTarget, userID: String, reason: ReleaseReason) -> (ReleaseOutcome, [SeatChange]) {
        let owned: [HoldRecord]
        let seats: [String]
        switch target {
        case .hold(let id):
            guard let hold = holds[id], hold.userID == userID else { return (.notFound, []) }
            owned = [hold]
            seats = hold.seatIDs
        case .seats(let wanted):
            let holdIDs = Set(wanted.compactMap { holdBySeat[$0] })
            owned = holdIDs.sorted().compactMap { holds[$0] }.filter { $0.userID == userID }
            let ownedSeats = Set(owned.flatMap(\.seatIDs))
            seats = wanted.filter { ownedSeats.contains($0) }
        }
        guard !seats.isEmpty else { return (.notFound, []) }
        guard owned.allSatisfy({ $0.checkoutID == nil }) else { return (.inCheckout, []) }
        return (.released(seatIDs: seats), releaseSeats(seats, reason: reason))
    }

    mutating func extend(holdID: String, userID: String, nowMs: Int64, byMs: Int64?, lifetimeMs: Int64, lifetimeForTTLMs: Int64) -> ExtendOutcome {
        guard var hold = holds[holdID], hold.userID == userID else {
            return expiredHoldIDs.contains(holdID) ? .expired : .notFound
        }
        guard hold.checkoutID == nil else { return .inCheckout }
        let by = byMs ?? hold.ttlMs
        guard by <= hold.ttlMs else { return .beyondTTL(ttlMs: hold.ttlMs) }
        hold.expiresAtMs = max(hold.expiresAtMs, min(nowMs + by, hold.createdAtMs + hold.ttlMs * lifetimeMs / lifetimeForTTLMs))
        holds[holdID] = hold
        return .extended(hold)
    }

    mutating func beginCheckout(seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        -> BeginCheckoutOutcome
    {
        if let holdID {
            guard let hold = holds[holdID], hold.userID == userID else {
                return expiredHoldIDs.contains(holdID) ? .holdExpired(seatIDs: seatIDs) : .holdNotFound
            }
            let missing = seatIDs.filter { !hold.seatIDs.contains($0) }
            guard missing.isEmpty else { return .notHeld(seatIDs: missing) }
        }
        let mine = seatIDs.map { seat in holdBySeat[seat].flatMap { holds[$0] }.flatMap { $0.userID == userID ? $0 : nil } }
        let notHeld = zip(seatIDs, mine).filter { $0.1 == nil }.map(\.0)
        guard notHeld.isEmpty else {
            return notHeld.allSatisfy { lapsedSeatOwner[$0] == userID } ? .holdExpired(seatIDs: notHeld) : .notHeld(seatIDs: notHeld)
        }
        let frozen = zip(seatIDs, mine).filter { $0.1?.checkoutID != nil }.map(\.0)
        guard frozen.isEmpty else { return .inProgress(seatIDs: frozen) }
        var fences: [String: Int64] = [:]
        for (seat, hold) in zip(seatIDs, mine) {
            guard let hold else { continue }
            fences[seat] = hold.fence
            holds[hold.id]?.checkoutID = checkoutID
        }
        let ticket = CheckoutTicket(
            checkoutID: checkoutID, eventID: eventID, userID: userID, seatIDs: seatIDs, fences: fences, leaseUntilMs: nowMs + leaseMs)
        checkouts[checkoutID] = ticket
        return .begun(ticket)
    }

    mutating func finishCheckout(checkoutID: String, seatIDs: [String]) -> [SeatChange] {
        checkouts[checkoutID] = nil
        guard !cancelledBookingIDs.contains(checkoutID) else { return [] }
        let newlyBooked = seatIDs.filter { booked[$0] == nil }
        guard !newlyBooked.isEmpty else { return [] }
        for seat in newlyBooked {
            booked[seat] = checkoutID
            lapsedSeatOwner[seat] = nil
            unhold(seat: seat)
        }
        for id in holds.keys.sorted() where holds[id]?.checkoutID == checkoutID { holds[id]?.checkoutID = nil }
        // A checkout that committed as its event was deleted: booked (the booking stands), not broadcast.
        if deleted { return [] }
        return [record { .seatsBooked(eventId: $0, seatIds: newlyBooked, seq: $1) }]
    }

    /// Frees the seats of `seatIDs` that `bookingID` booked (PB-CHECKOUT-10) and records one
    /// `seats_released` (reason `cancelled`) for them; seats booked since by another booking, or
    /// already free, stay as they are. A checkout of this booking still frozen here (its commit
    /// landed, its hot step not yet) is finished first, so its late finish cannot book them again.
    mutating func freeBooked(bookingID: String, seatIDs: [String]) -> (freed: [String], changes: [SeatChange]) {
        var changes: [SeatChange] = []
        if checkouts[bookingID] != nil { changes += finishCheckout(checkoutID: bookingID, seatIDs: seatIDs) }
        if cancelledBookingIDs.insert(bookingID).inserted {
            cancelledBookingOrder.append(bookingID)
            if cancelledBookingOrder.count > Self.expiredHoldIDsMax { cancelledBookingIDs.remove(cancelledBookingOrder.removeFirst()) }
        }
        let freed = seatIDs.filter { booked[$0] == bookingID }
        guard !freed.isEmpty else { return ([], changes) }
        for seat in freed { booked[seat] = nil }
        if deleted { return (freed, changes) }
        return (freed, changes + [record { .seatsReleased(eventId: $0, seatIds: freed, reason: .cancelled, seq: $1) }])
    }

    mutating func abortCheckout(checkoutID: String, releaseHolds: Bool, nowMs: Int64) -> [SeatChange] {
        checkouts[checkoutID] = nil
        var changes: [SeatChange] = []
        for id in holds.keys.sorted() where holds[id]?.checkoutID == checkoutID {
            holds[id]?.checkoutID = nil
            if releaseHolds, let hold = holds[id] { changes += lapse(hold) }
        }
        return changes + expireDue(nowMs: nowMs)
    }

    /// Deletes the event: drops every hold and checkout and records `event_deleted`, its last
    /// change. A second call changes nothing.
    mutating func delete(stamp newStamp: Int64) -> [SeatChange] {
        guard !deleted else { return [] }
        (holds, holdBySeat, heldSeatsByUser, checkouts, lapsedSeatOwner, expiredHoldIDs) = ([:], [:], [:], [:], [:], [])
        expiresNoEarlierThanMs = .max
        stamp = newStamp
        let change = record { .eventDeleted(eventId: $0, seq: $1) }
        deleted = true
        return [change]
    }

    func snapshot() -> HotSnapshot {
        var lockedBy: [String: String] = [:]
        for (seat, holdID) in holdBySeat { lockedBy[seat] = holds[holdID]?.userID }
        return HotSnapshot(seq: seq, lockedBy: lockedBy, booked: Set(booked.keys))
    }

    func changes(afterSeq: Int64) -> ChangesOutcome {
        guard afterSeq >= base, let changes = log.after(afterSeq, lastSeq: seq) else { return .trimmed }
        return .changes(changes)
    }
}
