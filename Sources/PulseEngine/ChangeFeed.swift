import Synchronization

/// A lossless doorbell from a hot store to the live hub: the store marks the events that got new
/// changes; the hub takes the marked set and pulls the changes themselves from the store's log.
///
/// Bounded by the number of events, never by the number of changes: marks for the same event
/// coalesce, and nothing is ever dropped.
public final class ChangeFeed: Sendable {
    private struct State {
        var dirty: Set<String> = []
        var waiter: CheckedContinuation<Void, Never>?
        var finished = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Marks `eventID` as having new changes.
    public func markChanged(_ eventID: String) {
        wakeWaiter { $0.dirty.insert(eventID) }
    }

    /// Waits until some event is marked, then returns the marked events sorted by id (a stable
    /// order) and clears the marks. Returns nil once ``finish()`` was called, or when the calling
    /// task is cancelled (a service group cancels its services when one fails, and a consumer that
    /// only heard ``finish()`` would keep the process from ever ending). One consumer at a time.
    public func next() async -> [String]? {
        while true {
            if Task.isCancelled { return nil }
            let taken = state.withLock { state -> [String]?? in
                if state.finished { return .some(nil) }
                guard !state.dirty.isEmpty else { return nil }
                defer { state.dirty.removeAll(keepingCapacity: true) }
                return .some(state.dirty.sorted())
            }
            if let taken { return taken }
            await withTaskCancellationHandler {
                await withCheckedContinuation { continuation in
                    let resumeNow = state.withLock { state -> Bool in
                        // Cancelled before the waiter was stored: the handler below found none to wake.
                        if state.finished || !state.dirty.isEmpty || Task.isCancelled { return true }
                        precondition(state.waiter == nil, "ChangeFeed has a single consumer")
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            } onCancel: {
                wakeWaiter { _ in }
            }
        }
    }

    /// Changes the state with `change` and wakes the waiting consumer, if any, in one step.
    private func wakeWaiter(after change: (inout State) -> Void) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            change(&state)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The marked events sorted by id, clearing the marks, without waiting (empty when none is
    /// marked): for a consumer that polls, such as the simulator's live hub.
    public func takeChanged() -> [String] {
        state.withLock { state in
            defer { state.dirty.removeAll(keepingCapacity: true) }
            return state.dirty.sorted()
        }
    }

    /// Wakes the consumer for good; ``next()`` returns nil from now on.
    public func finish() {
        wakeWaiter { $0.finished = true }
    }
}
