import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario

/// The durable store of a simulation: the real SQLite store (in memory), with a scheduling point
/// before the writes and reads a checkout depends on, so a checkout can be overtaken (paused)
/// between freezing its holds and committing; and, as the fault schedule says, commits that fail
/// before writing or lose their answer after it.
final class SimDurableStore: DurableStoreDecorator {
    let inner: any DurableStore
    let faults: SimFaults

    init(_ inner: any DurableStore, faults: SimFaults) {
        self.inner = inner
        self.faults = faults
    }

    private func turn() async throws { try await faults.turn() }

    func commitBooking(_ booking: NewBooking) async throws -> BookingCommit {
        try await turn()
        switch faults.commitFailure() {
        case .before?:
            throw DurableStoreError.unavailable("injected: the store did not answer")
        case .after?:
            _ = try await inner.commitBooking(booking)
            throw DurableStoreError.unavailable("injected: the answer was lost")
        case nil:
            return try await inner.commitBooking(booking)
        }
    }
    func booking(userID: String, idempotencyKey: String) async throws -> BookingRecord? {
        try await turn()
        return try await inner.booking(userID: userID, idempotencyKey: idempotencyKey)
    }
    func resolveLapsedCheckout(bookingID: String, eventID: String, fences: [String: Int64]) async throws -> Bool {
        try await turn()
        return try await inner.resolveLapsedCheckout(bookingID: bookingID, eventID: eventID, fences: fences)
    }
}
