import PulseEngine
import Synchronization

/// A durable store whose `commitBooking` can be made to fail (before or after the commit
/// took effect) or to pause until released: the faults PB-CHECKOUT-5 and PB-CHECKOUT-7 are about.
final class FaultyDurableStore: DurableStoreDecorator {
    enum CommitFault: Sendable {
        case none
        /// The store is unreachable: nothing is written, the caller gets an error.
        case failBefore
        /// The commit lands, but the answer is lost: the caller gets an error.
        case failAfter
        /// The commit waits until ``resumePausedCommit()`` (a process pause, a slow disk).
        case pause
    }

    let inner: any DurableStore
    private let state = Mutex<(fault: CommitFault, paused: Bool, resume: CheckedContinuation<Void, Never>?)>((.none, false, nil))

    init(_ inner: any DurableStore) { self.inner = inner }

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
}
