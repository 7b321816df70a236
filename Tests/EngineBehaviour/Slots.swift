import Synchronization

/// A counting semaphore: `take()` waits for one of `count` slots; each slot is given back once.
/// A world that starts a server takes one, so the behaviours running in parallel start a bounded
/// number of servers at once.
public final class Slots: Sendable {
    private let state: Mutex<(free: Int, waiting: [CheckedContinuation<Void, Never>])>

    public init(_ count: Int) { state = Mutex((count, [])) }

    /// Takes a slot and runs `make` holding it; gives the slot back if `make` throws.
    public func take<T>(for make: () async throws -> T) async throws -> (Slot, T) {
        let slot = await take()
        do {
            return (slot, try await make())
        } catch {
            slot.give()
            throw error
        }
    }

    public func take() async -> Slot {
        await withCheckedContinuation { continuation in
            let granted = state.withLock { state -> Bool in
                guard state.free > 0 else {
                    state.waiting.append(continuation)
                    return false
                }
                state.free -= 1
                return true
            }
            if granted { continuation.resume() }
        }
        return Slot(self)
    }

    fileprivate func give() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }

    /// One taken slot, given back by its first `give()`.
    public final class Slot: Sendable {
        private let owner: Slots
        private let given = Atomic(false)
        fileprivate init(_ owner: Slots) { self.owner = owner }
        public func give() { if !given.exchange(true, ordering: .relaxed) { owner.give() } }
    }
}
