import PulseProtocol

/// The result of a checkout: the booking, and whether it was replayed for an idempotency key.
public struct CheckoutResult: Sendable, Equatable {
    public var booking: BookingRecord
    public var replayed: Bool
}

extension BookingEngine {
    /// Books seats the caller holds (PB-CHECKOUT).
    ///
    /// 1. Validates the request and prices it on the server; a disagreeing `totalAmount` is refused.
    /// 2. Replays the booking already made with the same `Idempotency-Key`, if any.
    /// 3. Freezes the caller's live holds on the seats in the hot store, taking their fences. When
    ///    that fails and the key names a booking by now (a first try finished in between), replays it.
    /// 4. Commits the booking durably; the store refuses seats already claimed and fences below
    ///    a recorded floor, so a checkout paused past its lease can never land (see ``sweep()``).
    /// 5. Marks the seats booked in the hot store, which broadcasts `seats_booked`.
    ///
    /// When the durable store fails the outcome is unknown: the holds stay frozen and the
    /// sweeper decides the checkout once its lease runs out; the caller gets a 503 saying so.
    public func checkout(eventID: String, request: CheckoutRequest, idempotencyKey: String?, userID: String) async throws -> CheckoutResult {
        let event = try await activeEvent(eventID)
        let seats = try validSeats(request.seatIds, of: event, max: configuration.heldSeatsPerUserMax)
        if let holdID = request.holdId, !Hex.isHex(holdID, count: 32) { throw PulseError.holdNotFound }
        let totalCents = seats.count * event.priceCents
        if let amount = request.totalAmount, Money.cents(from: amount) != totalCents {
            var error = PulseError(status: 422, code: .amountMismatch, message: "totalAmount does not match the price of these seats.")
            error.expectedAmount = Money.amount(fromCents: totalCents)
            throw error
        }
        if let key = idempotencyKey {
            try validateIdempotencyKey(key)
            if let existing = try await onDurable({ try await durable.booking(userID: userID, idempotencyKey: key) }) {
                return try replay(existing, eventID: eventID, seats: seats)
            }
        }
        // The checkout's id is the booking's id (24 hex, PB-REST-3): the sweeper decides a lapsed checkout by it.
        let checkoutID = ids.entityID()
        let begun = try await onHot {
            try await hot.beginCheckout(
                eventID: eventID, seatIDs: seats, userID: userID, holdID: request.holdId, checkoutID: checkoutID,
                nowMs: clock.nowMs(), leaseMs: configuration.checkoutLeaseMs)
        }
        let ticket: CheckoutTicket
        if case .begun = begun {
        } else if let key = idempotencyKey,
            let existing = try await onDurable({ try await durable.booking(userID: userID, idempotencyKey: key) })
        {
            // A first checkout with this key finished between the replay check above and the
            // freeze: its holds are gone because it booked them. This retry is answered with that
            // booking, as any later one is (PB-CHECKOUT-6), not with hold_required.
            return try replay(existing, eventID: eventID, seats: seats)
        }
        switch begun {
        case .begun(let begunTicket): ticket = begunTicket
        case .holdNotFound: throw PulseError.holdNotFound
        case .holdExpired(let seats):
            metrics.checkoutConflicts.increment()
            throw PulseError.seats(410, .holdExpired, "Your hold on these seats has expired.", seats)
        case .notHeld(let seats):
            metrics.checkoutConflicts.increment()
            throw PulseError.seats(409, .holdRequired, "You hold no live hold on these seats: \(seats.joined(separator: ", ")).", seats)
        case .inProgress(let seats):
            throw PulseError.seats(
                409, idempotencyKey == nil ? .checkoutInProgress : .idempotencyInProgress,
                "A checkout of these seats is already in progress.", seats)
        }
        let booking = NewBooking(
            id: checkoutID, eventID: eventID, userID: userID, seatIDs: seats, fences: ticket.fences,
            totalCents: totalCents, idempotencyKey: idempotencyKey, createdAtMs: clock.nowMs())
        let commit = try await onDurable(mutating: true) { try await durable.commitBooking(booking) }
        switch commit {
        case .committed(let record):
            // The booking is durable: it stands even if the hot store fails now (the sweeper finishes it).
            try? await hot.finishCheckout(eventID: eventID, checkoutID: checkoutID, seatIDs: seats, nowMs: clock.nowMs())
            metrics.bookings.increment()
            metrics.bookedSeats.increment(by: seats.count)
            return CheckoutResult(booking: record, replayed: false)
        case .duplicateKey(let record):
            try await abort(ticket, releaseHolds: false)
            return try replay(record, eventID: eventID, seats: seats)
        case .seatsTaken(let taken):
            metrics.checkoutConflicts.increment()
            try await abort(ticket, releaseHolds: false)
            throw PulseError.seats(409, .seatUnavailable, "Seats are already booked: \(taken.joined(separator: ", ")).", taken)
        case .fencedOff(let fenced):
            metrics.checkoutConflicts.increment()
            try await abort(ticket, releaseHolds: false)
            throw PulseError.seats(409, .holdSuperseded, "Your hold on these seats lapsed during checkout.", fenced)
        }
    }

    private func abort(_ ticket: CheckoutTicket, releaseHolds: Bool) async throws {
        try await onHot {
            try await hot.abortCheckout(eventID: ticket.eventID, checkoutID: ticket.checkoutID, releaseHolds: releaseHolds, nowMs: clock.nowMs())
        }
    }

    private func validateIdempotencyKey(_ key: String) throws {
        guard (1...configuration.idempotencyKeyLengthMax).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw PulseError.invalid(
                "Idempotency-Key", "Idempotency-Key must be 1...\(configuration.idempotencyKeyLengthMax) printable ASCII characters.")
        }
    }

    /// The booking an idempotency key already names, if the retry asks for the same thing.
    private func replay(_ booking: BookingRecord, eventID: String, seats: [String]) throws -> CheckoutResult {
        guard booking.eventID == eventID, Set(booking.seatIDs) == Set(seats) else {
            throw PulseError(status: 422, code: .idempotencyKeyReused, message: "This Idempotency-Key was used for a different checkout.")
        }
        return CheckoutResult(booking: booking, replayed: true)
    }

    /// The caller's bookings, newest first.
    public func bookings(userID: String) async throws -> [BookingRecord] {
        try await onDurable { try await durable.bookings(userID: userID) }
    }
}

extension BookingRecord {
    /// The booking as the API shows it.
    public var resource: BookingResource {
        BookingResource(
            id: id, eventId: eventID, userId: userID, seatIds: seatIDs, totalAmount: Money.amount(fromCents: totalCents),
            status: status, createdAt: ISOTime.format(ms: createdAtMs), cancelledAt: cancelledAtMs.map(ISOTime.format(ms:)),
            cancellationReason: cancellationReason)
    }
}
