import PulseEngine
import Testing

/// Behaviour every durable store must have, run on SQLite (here, against the same function in
/// the differential test's sequences) and on MongoDB.
enum DurableStoreContract {
    /// Cancelling: only the owner (or an admin, with no user) finds the booking; its claims go, so
    /// its seats can be booked again at once; it keeps its seats and its idempotency key; a second
    /// cancel changes nothing.
    static func cancellation(_ store: any DurableStore) async throws {
        try await store.createEvent(
            EventRecord(
                id: "e1", title: "T", venue: "V", date: "2027-01-01T00:00:00.000Z", isActive: true,
                rows: 1, cols: 4, priceCents: 100, createdAtMs: 0))
        for user in ["u1", "u2"] {
            try await store.createUser(UserRecord(id: user, name: user, email: "\(user)@example.com", passwordHash: "h", role: .user, createdAtMs: 0))
        }
        func booking(_ id: String, _ seats: [String], user: String, key: String? = nil, at time: Int64) -> NewBooking {
            NewBooking(
                id: id, eventID: "e1", userID: user, seatIDs: seats, fences: Dictionary(uniqueKeysWithValues: seats.map { ($0, 3) }),
                totalCents: 100 * seats.count, idempotencyKey: key, createdAtMs: time)
        }
        guard case .committed = try await store.commitBooking(booking("b1", ["A1", "A2"], user: "u1", key: "k", at: 1)) else {
            throw TestFailure("b1")
        }
        func cancel(_ id: String, by user: String?, at time: Int64, reason: String? = nil) async throws -> BookingCancellation {
            try await store.cancelBooking(BookingCancellationRequest(bookingID: id, userID: user, atMs: time, reason: reason))
        }
        #expect(try await cancel("b1", by: "u2", at: 5) == .notFound, "another user's booking is not theirs to cancel")
        #expect(try await cancel("nope", by: nil, at: 5) == .notFound)
        #expect(try await store.booking(id: "b1")?.status == "confirmed")
        guard case .cancelled(let cancelled) = try await cancel("b1", by: "u1", at: 5, reason: "plans changed") else { throw TestFailure("cancel") }
        #expect(
            cancelled.status == "cancelled" && cancelled.seatIDs == ["A1", "A2"] && cancelled.cancelledAtMs == 5
                && cancelled.cancellationReason == "plans changed")
        guard case .alreadyCancelled(let again) = try await cancel("b1", by: nil, at: 9, reason: "other") else { throw TestFailure("again") }
        #expect(again == cancelled, "a second cancel changes nothing: its time and reason stay the first's")
        #expect(try await store.booking(id: "b1") == cancelled)
        #expect(try await store.bookedSeats(eventID: "e1") == [:])
        #expect(try await store.bookedSeatCounts(eventIDs: ["e1"]) == [:])
        guard case .committed = try await store.commitBooking(booking("b2", ["A2", "A3"], user: "u2", at: 2)) else {
            throw TestFailure("a cancelled seat could not be booked again")
        }
        #expect(try await store.commitBooking(booking("b3", ["A3"], user: "u1", at: 3)) == .seatsTaken(["A3"]), "the new booking holds its seats")
        guard case .duplicateKey(let replayed) = try await store.commitBooking(booking("b4", ["A4"], user: "u1", key: "k", at: 4)) else {
            throw TestFailure("the key forgot its booking")
        }
        #expect(replayed.id == "b1" && replayed.status == "cancelled")
        #expect(try await store.bookings(userID: "u1").map { "\($0.id) \($0.status) \($0.seatIDs)" } == ["b1 cancelled [\"A1\", \"A2\"]"])
        #expect(try await store.bookedSeats(eventID: "e1") == ["A2": "b2", "A3": "b2"])
    }
}
