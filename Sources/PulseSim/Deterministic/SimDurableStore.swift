import PulseReference

/// The durable store of a simulation: the real SQLite store (in memory), with a scheduling point
/// before the writes and reads a checkout depends on, so a checkout can be overtaken (paused)
/// between freezing its holds and committing.
final class SimDurableStore: DurableStore {
    let inner: any DurableStore
    let faults: SimFaults

    init(_ inner: any DurableStore, faults: SimFaults) {
        self.inner = inner
        self.faults = faults
    }

    private func turn() async { await faults.turn() }

    func commitBooking(_ booking: NewBooking) async throws -> BookingCommit {
        await turn()
        return try await inner.commitBooking(booking)
    }
    func booking(userID: String, idempotencyKey: String) async throws -> BookingRecord? {
        await turn()
        return try await inner.booking(userID: userID, idempotencyKey: idempotencyKey)
    }
    func resolveLapsedCheckout(bookingID: String, eventID: String, fences: [String: Int64]) async throws -> Bool {
        await turn()
        return try await inner.resolveLapsedCheckout(bookingID: bookingID, eventID: eventID, fences: fences)
    }

    func createUser(_ user: UserRecord) async throws { try await inner.createUser(user) }
    func user(id: String) async throws -> UserRecord? { try await inner.user(id: id) }
    func user(email: String) async throws -> UserRecord? { try await inner.user(email: email) }
    func upsertAdmin(_ user: UserRecord) async throws -> UserRecord { try await inner.upsertAdmin(user) }
    func createEvent(_ event: EventRecord) async throws { try await inner.createEvent(event) }
    func event(id: String) async throws -> EventRecord? { try await inner.event(id: id) }
    func activeEvents() async throws -> [EventRecord] { try await inner.activeEvents() }
    func updateEvent(_ event: EventRecord) async throws { try await inner.updateEvent(event) }
    func deleteEvent(id: String) async throws -> Bool { try await inner.deleteEvent(id: id) }
    func bookedSeatCounts(eventIDs: [String]) async throws -> [String: Int] { try await inner.bookedSeatCounts(eventIDs: eventIDs) }
    func bookedSeats(eventID: String) async throws -> [String] { try await inner.bookedSeats(eventID: eventID) }
    func bookings(userID: String) async throws -> [BookingRecord] { try await inner.bookings(userID: userID) }
    func nextHotGeneration() async throws -> Int64 { try await inner.nextHotGeneration() }
}
