import PulseProtocol

extension BookingEngine {
    /// Holds every seat of `seatIDs` for `userID`, or none (PB-HOLD-2..6). The grant carries a
    /// fresh random token as its id and the event's next fence. The event comes from this
    /// process's ``EventCache`` when it has it: the hot-store step itself refuses a stale copy,
    /// and the hold is retried on the event read again.
    /// Throws 404 `event_not_found`, 409 `event_inactive`, 400 `validation_failed`,
    /// 409 `seat_unavailable` (with the conflicting seats) or 409 `hold_limit_exceeded`.
    public func hold(eventID: String, seatIDs: [String], userID: String) async throws -> HoldRecord {
        try Self.requireEntityID(eventID, "event")
        var entry = try await cachedActiveEvent(eventID)
        for _ in 0..<Self.staleEventRetries {
            let seats = try validSeats(seatIDs, of: entry.event, max: configuration.seatsPerHoldMax)
            let outcome = try await onHot {
                try await hot.hold(
                    eventID: eventID, seatIDs: seats, userID: userID, holdID: ids.token(), nowMs: clock.nowMs(),
                    ttlMs: configuration.holdTTLMs, heldSeatsPerUserMax: configuration.heldSeatsPerUserMax, eventStamp: entry.stamp)
            }
            if case .staleEvent(let stamp) = outcome {
                entry = try await rereadActiveEvent(eventID, stamp: stamp)
                continue
            }
            return try granted(outcome)
        }
        throw PulseError.storeUnavailable("event \(eventID) kept changing during a hold", outcomeUnknown: false)
    }

    /// Hold attempts before giving up on an event that changes under every one of them.
    static let staleEventRetries = 8

    private func granted(_ outcome: HoldOutcome) throws -> HoldRecord {
        switch outcome {
        case .granted(let hold):
            metrics.holdsGranted.increment()
            return hold
        case .unavailable(let taken):
            metrics.holdConflicts.increment()
            throw PulseError.seats(409, .seatUnavailable, "Seats are held or booked: \(taken.joined(separator: ", ")).", taken)
        case .limitExceeded(let held):
            metrics.holdConflicts.increment()
            throw PulseError(
                status: 409, code: .holdLimitExceeded,
                message: "You hold \(held) seats of this event; at most \(configuration.heldSeatsPerUserMax) at once.")
        case .staleEvent:
            preconditionFailure("a stale event is retried, never answered")
        }
    }

    /// The event and its stamp from the cache if it is open there; otherwise read afresh (the
    /// durable store first, so an unknown id never creates hot state), then its stamp, then the
    /// event again, the pair cached. Throws 404 `event_not_found` or 409 `event_inactive`.
    private func cachedActiveEvent(_ eventID: String) async throws -> EventCache.Entry {
        let nowMs = clock.nowMs()
        if let entry = eventCache.entry(eventID, nowMs: nowMs), entry.isOpen(nowMs: nowMs) { return entry }
        _ = try await activeEvent(eventID)
        let stamp = try await onHot(mutating: false) { try await hot.eventStamp(eventID: eventID) }
        return try await rereadActiveEvent(eventID, stamp: stamp)
    }

    /// The event read from the durable store after the hot store answered `stamp`, cached with it.
    private func rereadActiveEvent(_ eventID: String, stamp: Int64) async throws -> EventCache.Entry {
        let readAtMs = clock.nowMs()
        guard let event = try await onDurable({ try await durable.event(id: eventID) }) else {
            eventCache.forget(eventID)
            // Deleted (and ids are never reused): drop the hot state the stale step may have made again.
            try? await hot.dropEvent(eventID: eventID)
            throw PulseError.eventNotFound
        }
        let entry = EventCache.Entry(stamp: stamp, event: event, readAtMs: readAtMs)
        eventCache.store(entry)
        try event.requireOpen(nowMs: clock.nowMs(), startsAtMs: entry.startsAtMs)
        return entry
    }

    /// Releases the caller's hold (compare-and-delete: only the owner's, never someone else's).
    /// Throws 404 `hold_not_found` for unknown holds and for other users' holds alike.
    public func release(eventID: String, holdID: String, userID: String) async throws {
        try Self.requireEntityID(eventID, "event")
        guard Hex.isHex(holdID, count: 32) else { throw PulseError.holdNotFound }
        _ = try await release(eventID: eventID, target: .hold(id: holdID), userID: userID, reason: .released)
    }

    /// Releases what `target` names of the caller's holds, broadcasting `seat_released` with
    /// `reason` only for seats actually released. Returns those seats.
    public func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason) async throws -> [String] {
        let outcome = try await onHot {
            try await hot.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: clock.nowMs())
        }
        switch outcome {
        case .released(let seats):
            metrics.seatsReleased.increment(by: seats.count)
            return seats
        case .notFound:
            throw PulseError.holdNotFound
        case .inCheckout:
            throw PulseError(status: 409, code: .checkoutInProgress, message: "A checkout is committing this hold.")
        }
    }

    /// Extends the caller's live hold by `seconds` (1...the hold's own TTL; default that TTL),
    /// never beyond its lifetime cap: the hold's TTL times the server's lifetime ratio (3 by
    /// default; PB-HOLD-9). Throws 400 `validation_failed` for `seconds` beyond the hold's TTL,
    /// 404 `hold_not_found`, 410 `hold_expired`, 409 `checkout_in_progress`.
    public func extend(eventID: String, holdID: String, userID: String, seconds: Int?) async throws -> HoldRecord {
        try Self.requireEntityID(eventID, "event")
        guard Hex.isHex(holdID, count: 32) else { throw PulseError.holdNotFound }
        if let seconds, !(1...EngineConfiguration.holdTTLSecondsMax).contains(seconds) {
            throw PulseError.invalid("seconds", "seconds must be 1...the hold's TTL.")
        }
        let outcome = try await onHot {
            try await hot.extend(
                eventID: eventID, holdID: holdID, userID: userID, nowMs: clock.nowMs(), byMs: seconds.map { Int64($0) * 1000 },
                lifetimeMs: configuration.holdLifetimeMaxMs, lifetimeForTTLMs: configuration.holdTTLMs)
        }
        switch outcome {
        case .extended(let hold): return hold
        case .beyondTTL(let ttlMs): throw PulseError.invalid("seconds", "seconds must be 1...\(ttlMs / 1000), this hold's TTL.")
        case .notFound: throw PulseError.holdNotFound
        case .expired: throw PulseError(status: 410, code: .holdExpired, message: "This hold has expired.")
        case .inCheckout: throw PulseError(status: 409, code: .checkoutInProgress, message: "A checkout is committing this hold.")
        }
    }

    /// The caller's live holds in an event.
    public func holds(eventID: String, userID: String) async throws -> [HoldRecord] {
        try Self.requireEntityID(eventID, "event")
        return try await onHot(mutating: false) { try await hot.holds(eventID: eventID, userID: userID, nowMs: clock.nowMs()) }
    }
}

extension HoldRecord {
    /// The hold as the API shows it to its owner.
    public var resource: HoldResource {
        HoldResource(id: id, eventId: eventID, seatIds: seatIDs, expiresAt: ISOTime.format(ms: expiresAtMs), fence: fence)
    }
}
