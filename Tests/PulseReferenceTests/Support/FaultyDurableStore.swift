import Synchronization
@testable import PulseReference

/// A SQLite durable store whose `commitBooking` can be made to fail (before or after the commit
/// took effect) or to pause until released: the faults PB-CHECKOUT-5 and PB-CHECKOUT-7 are about.
final class FaultyDurableStore: DurableStore {
    enum CommitFault: Sendable {
        case none
        /// The store is unreachable: nothing is written, the caller gets an error.
        case failBefore
        /// The commit lands, but the answer is lost: the caller gets an error.
        case failAfter
        /// The commit waits until ``resumePausedCommit()`` (a process pause, a slow disk).
        case pause
    }

    let inner: SQLiteDurableStore
    private let state = Mutex<(fault: CommitFault, paused: Bool, resume: CheckedContinuation<Void, Never>?)>((.none, false, nil))

    init(_ inner: SQLiteDurableStore) { self.inner = inner }

    var commitFault: CommitFault {
        get { state.withLock { $0.fault } }
        set { state.withLock { $0.fault = newValue } }
    }

    /// Whether a commit is waiting in ``CommitFault/pause``.
    var hasPausedCommit: Bool { state.withLock { $0.resume != nil } }

    func resumePausedCommit() {
        let resume = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.resume = nil }
            return state.resume
        }
        resume?.resume()
    }

    func commitBooking(_ booking: NewBooking) async throws -> BookingCommit {
        switch commitFault {
        case .none:
            return try await inner.commitBooking(booking)
        case .failBefore:
            throw DurableStoreError.unavailable("injected: unreachable")
        case .failAfter:
            _ = try await inner.commitBooking(booking)
            throw DurableStoreError.unavailable("injected: answer lost")
        case .pause:
            await withCheckedContinuation { continuation in state.withLock { $0.resume = continuation } }
            return try await inner.commitBooking(booking)
        }
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
    func booking(userID: String, idempotencyKey: String) async throws -> BookingRecord? { try await inner.booking(userID: userID, idempotencyKey: idempotencyKey) }
    func bookings(userID: String) async throws -> [BookingRecord] { try await inner.bookings(userID: userID) }
    func resolveLapsedCheckout(bookingID: String, eventID: String, fences: [String: Int64]) async throws -> Bool {
        try await inner.resolveLapsedCheckout(bookingID: bookingID, eventID: eventID, fences: fences)
    }
    func nextHotGeneration() async throws -> Int64 { try await inner.nextHotGeneration() }
}
