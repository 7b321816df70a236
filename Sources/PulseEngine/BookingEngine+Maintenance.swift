extension BookingEngine {
    /// Whether each store answers now: nil for a store that does, else why not (for the log only;
    /// the detail may carry internal text and never goes into a response).
    public func readiness() async -> (hot: String?, durable: String?) {
        async let hot: String? = {
            do {
                try await self.hot.ping()
                return nil
            } catch { return String(describing: error) }
        }()
        async let durable: String? = {
            do {
                try await self.durable.ping()
                return nil
            } catch { return String(describing: error) }
        }()
        return await (hot, durable)
    }

    /// What one sweep did.
    public struct SweepReport: Sendable, Equatable {
        public var expiredSeats = 0
        public var lapsedCheckoutsBooked = 0
        public var lapsedCheckoutsFencedOff = 0
        /// Cancellations whose hot step had failed, finished now.
        public var cancellationsFinished = 0
    }

    /// One pass of the server's own expiry (PB-HOLD-8): expires every hold past its TTL, then
    /// decides every checkout whose lease ran out. For each, the durable store either already has
    /// its booking (then the seats are marked booked) or raises the seats' fence floor so the
    /// paused commit can never land (then its holds are released as expired). Last, it finishes the
    /// cancellations whose hot step failed in this process (``PendingFrees``).
    ///
    /// Safe to run concurrently with requests and with itself.
    @discardableResult
    public func sweep() async throws -> SweepReport {
        var report = SweepReport()
        let now = clock.nowMs()
        report.expiredSeats = try await onHot { try await hot.expireDue(nowMs: now) }
        metrics.seatsExpired.increment(by: report.expiredSeats)
        for ticket in try await onHot(mutating: false, { try await hot.lapsedCheckouts(nowMs: now) }) {
            metrics.lapsedCheckouts.increment()
            let committed = try await onDurable(mutating: true) {
                try await durable.resolveLapsedCheckout(bookingID: ticket.checkoutID, eventID: ticket.eventID, fences: ticket.fences)
            }
            if committed {
                try await onHot {
                    try await hot.finishCheckout(eventID: ticket.eventID, checkoutID: ticket.checkoutID, seatIDs: ticket.seatIDs, nowMs: now)
                }
                report.lapsedCheckoutsBooked += 1
            } else {
                try await onHot {
                    try await hot.abortCheckout(eventID: ticket.eventID, checkoutID: ticket.checkoutID, releaseHolds: true, nowMs: now)
                }
                report.lapsedCheckoutsFencedOff += 1
            }
        }
        for pending in pendingFrees.all() {
            _ = try await onHot {
                try await hot.freeBooked(eventID: pending.eventID, bookingID: pending.bookingID, seatIDs: pending.seatIDs, nowMs: now)
            }
            pendingFrees.remove(pending.bookingID)
            report.cancellationsFinished += 1
        }
        return report
    }

    /// Loads every active event's booked seats into the hot store (start-up, or after the hot
    /// state was lost), so that no hold is ever granted on a sold seat; then puts back on sale the
    /// seats of bookings cancelled durably whose hot step never ran (a process that died between
    /// the two steps of a cancel, with a hot store that outlived it).
    public func warmUp() async throws {
        for event in try await onDurable({ try await durable.activeEvents() }) {
            try await finishCancellations(eventID: event.id, durablySold: try await loadSoldSeats(event.id))
        }
    }

    /// Loads the durable store's sold seats of an event into the hot store and returns them.
    @discardableResult
    func loadSoldSeats(_ eventID: String) async throws -> [String: String] {
        let booked = try await onDurable { try await durable.bookedSeats(eventID: eventID) }
        if !booked.isEmpty { try await onHot { try await hot.loadBooked(eventID: eventID, bookings: booked) } }
        return booked
    }

    /// Frees the seats the hot store has sold to a booking the durable store has cancelled. Only
    /// bookings the durable store says are cancelled are freed, and ``HotStore/freeBooked`` frees
    /// only seats still sold to them, so a concurrent re-sale is never undone.
    func finishCancellations(eventID: String, durablySold: [String: String]) async throws {
        let hotSold = try await onHot(mutating: false) { try await hot.soldSeats(eventID: eventID) }
        let stale = Dictionary(grouping: hotSold.filter { durablySold[$0.key] != $0.value }, by: \.value).mapValues { $0.map(\.key).sorted() }
        for (bookingID, seats) in stale.sorted(by: { $0.key < $1.key }) {
            guard try await onDurable({ try await durable.booking(id: bookingID) })?.isCancelled == true else { continue }
            _ = try await onHot { try await hot.freeBooked(eventID: eventID, bookingID: bookingID, seatIDs: seats, nowMs: clock.nowMs()) }
        }
    }
}
