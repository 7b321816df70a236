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
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.dirty.insert(eventID)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits until some event is marked, then returns the marked events sorted by id (a stable
    /// order) and clears the marks. Returns nil once ``finish()`` was called. One consumer at a time.
    public func next() async -> [String]? {
        while true {
            let taken = state.withLock { state -> [String]?? in
                if state.finished { return .some(nil) }
                guard !state.dirty.isEmpty else { return nil }
                defer { state.dirty.removeAll(keepingCapacity: true) }
                return .some(state.dirty.sorted())
            }
            if let taken { return taken }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.finished || !state.dirty.isEmpty { return true }
                    precondition(state.waiter == nil, "ChangeFeed has a single consumer")
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
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
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
