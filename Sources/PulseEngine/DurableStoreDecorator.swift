/// A durable store wrapped around another: every method forwards to ``inner`` unless the
/// decorator implements it itself. For stores that intercept a few calls (the simulator's
/// scheduling points, injected faults in tests).
public protocol DurableStoreDecorator: DurableStore {
    var inner: any DurableStore { get }
}

extension DurableStoreDecorator {
    public func ping() async throws { try await inner.ping() }
    public func createUser(_ user: UserRecord) async throws { try await inner.createUser(user) }
    public func user(id: String) async throws -> UserRecord? { try await inner.user(id: id) }
    public func user(email: String) async throws -> UserRecord? { try await inner.user(email: email) }
    public func upsertAdmin(_ user: UserRecord) async throws -> UserRecord { try await inner.upsertAdmin(user) }
    public func createEvent(_ event: EventRecord) async throws { try await inner.createEvent(event) }
    public func event(id: String) async throws -> EventRecord? { try await inner.event(id: id) }
    public func activeEvents() async throws -> [EventRecord] { try await inner.activeEvents() }
    public func updateEvent(_ event: EventRecord) async throws { try await inner.updateEvent(event) }
    public func deleteEvent(id: String) async throws -> Bool { try await inner.deleteEvent(id: id) }
    public func bookedSeatCounts(eventIDs: [String]) async throws -> [String: Int] { try await inner.bookedSeatCounts(eventIDs: eventIDs) }
    public func bookedSeats(eventID: String) async throws -> [String: String] { try await inner.bookedSeats(eventID: eventID) }
    public func commitBooking(_ booking: NewBooking) async throws -> BookingCommit { try await inner.commitBooking(booking) }
    public func booking(userID: String, idempotencyKey: String) async throws -> BookingRecord? {
        try await inner.booking(userID: userID, idempotencyKey: idempotencyKey)
    }
    public func bookings(userID: String) async throws -> [BookingRecord] { try await inner.bookings(userID: userID) }
    public func booking(id: String) async throws -> BookingRecord? { try await inner.booking(id: id) }
    public func cancelBooking(_ request: BookingCancellationRequest) async throws -> BookingCancellation {
        try await inner.cancelBooking(request)
    }
    public func resolveLapsedCheckout(bookingID: String, eventID: String, fences: [String: Int64]) async throws -> Bool {
        try await inner.resolveLapsedCheckout(bookingID: bookingID, eventID: eventID, fences: fences)
    }
    public func nextHotGeneration() async throws -> Int64 { try await inner.nextHotGeneration() }
}
