import PulseProtocol
import Synchronization

extension BookingEngine {
    /// Cancels a booking (PB-CHECKOUT-8...11): the caller's own, or any when `isAdmin`.
    ///
    /// 1. Finds the booking (404 `booking_not_found` when it is not the caller's) and its event.
    /// 2. Commits the cancellation durably: the booking becomes `cancelled` and gives up its seat
    ///    claims in one transaction, so its seats may be booked again.
    /// 3. Puts the seats back on sale in the hot store, which broadcasts one `seats_released`
    ///    (reason `cancelled`) at the event's next seq in the same atomic step. Until then the hot
    ///    store still shows them booked, so nobody holds them before the durable claims are gone.
    ///
    /// Idempotent: a cancelled booking is answered as its first cancellation left it, and step 3
    /// runs again, freeing only seats the booking still has in the hot store (a cancel whose hot
    /// step failed is finished by its retry; a seat sold again since is left alone). A deleted
    /// event's stream has ended: nothing is broadcast. Once the event's date has come only an admin
    /// cancels a confirmed booking (PB-CHECKOUT-12). Throws 400 `invalid_id` or `validation_failed`
    /// (`reason`), 404 `booking_not_found`, 409 `cancellation_closed`, 503 `store_unavailable` (when
    /// the hot step fails after the durable commit the outcome is reported unknown: retry).
    public func cancelBooking(_ bookingID: String, reason: String?, userID: String, isAdmin: Bool) async throws -> BookingRecord {
        try Self.requireEntityID(bookingID, "booking")
        if let reason, !(1...configuration.cancellationReasonLengthMax).contains(reason.unicodeScalars.count) {
            throw PulseError.invalid("reason", "reason must be 1...\(configuration.cancellationReasonLengthMax) characters.")
        }
        guard let found = try await onDurable({ try await durable.booking(id: bookingID) }), isAdmin || found.userID == userID else {
            throw PulseError.bookingNotFound
        }
        let event = try await onDurable { try await durable.event(id: found.eventID) }
        if let starts = event?.startsAtMs, !isAdmin, !found.isCancelled, clock.nowMs() >= starts { throw PulseError.cancellationClosed }
        if let event, !event.isActive {
            // Inactive events are not warmed up at start-up: the hot state learns their sold seats
            // first, so that the freed seats are announced.
            try await loadSoldSeats(event.id)
        }
        let request = BookingCancellationRequest(bookingID: bookingID, userID: isAdmin ? nil : userID, atMs: clock.nowMs(), reason: reason)
        let booking: BookingRecord
        switch try await onDurable(mutating: true, { try await durable.cancelBooking(request) }) {
        case .notFound: throw PulseError.bookingNotFound
        case .alreadyCancelled(let record): booking = record
        case .cancelled(let record):
            booking = record
            metrics.cancellations.increment()
            metrics.cancelledSeats.increment(by: record.seatIDs.count)
        }
        if event != nil {
            do {
                _ = try await onHot {
                    try await hot.freeBooked(eventID: booking.eventID, bookingID: booking.id, seatIDs: booking.seatIDs, nowMs: clock.nowMs())
                }
                pendingFrees.remove(booking.id)
            } catch {
                // The sweeper finishes it (a retry of the cancel does too).
                pendingFrees.add(PendingFree(eventID: booking.eventID, bookingID: booking.id, seatIDs: booking.seatIDs))
                throw error
            }
        }
        return booking
    }
}

/// A cancellation committed durably whose hot step failed: its seats still look sold.
struct PendingFree: Sendable, Equatable {
    var eventID: String
    var bookingID: String
    var seatIDs: [String]
}

/// The cancellations whose hot step failed in this process, which the sweeper finishes
/// (``BookingEngine/sweep()``); a process that dies first leaves them to the next start-up's
/// ``BookingEngine/warmUp()``.
final class PendingFrees: Sendable {
    private let pending = Mutex<[String: PendingFree]>([:])

    func add(_ free: PendingFree) { pending.withLock { $0[free.bookingID] = free } }
    func remove(_ bookingID: String) { _ = pending.withLock { $0.removeValue(forKey: bookingID) } }
    /// Every pending one, by booking id.
    func all() -> [PendingFree] { pending.withLock { $0.values.sorted { $0.bookingID < $1.bookingID } } }
}
