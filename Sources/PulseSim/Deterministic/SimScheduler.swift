import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario
import Synchronization

/// The deterministic scheduler: simulated processes are Swift tasks, but only one runs at a time.
/// A process runs until it reaches a yield point (``yield()``, a store boundary), sleeps on virtual
/// time (``sleep(ms:)``) or ends; then the scheduler picks, with its seeded generator, which parked
/// process continues. Virtual time moves only when every process sleeps, straight to the earliest
/// wake-up. The same seed and the same processes give the same interleaving, every time, provided
/// the processes run on one thread (``SimRunner`` runs them on an executor of their own).
public final class SimScheduler: Sendable {
    /// The process a task belongs to (set by ``spawn(_:_:)``).
    @TaskLocal public static var currentProcess: String?

    fileprivate struct Waiter {
        var process: String
        var order: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    fileprivate struct State {
        var random: SeededRandom
        var ready: [Waiter] = []
        /// Sleeping processes, a min-heap on (wake-up time, order).
        var sleeping = SleeperHeap()
        var running = 0
        var steps = 0
        var order = 0
        var idle: CheckedContinuation<Void, Never>?
    }

    public let clock: ManualClock
    private let state: Mutex<State>

    public init(seed: UInt64, clock: ManualClock) {
        self.clock = clock
        state = Mutex(State(random: SeededRandom(seed: seed)))
    }

    /// True with probability `p`, from the scheduler's seeded generator (faults use it).
    public func chance(_ p: Double) -> Bool { state.withLock { $0.random.chance(p) } }

    /// A number in `0..<bound` (at least 1), from the scheduler's seeded generator.
    public func below(_ bound: Int) -> Int { state.withLock { $0.random.below(max(1, bound)) } }

    /// Scheduling decisions taken so far.
    public var steps: Int { state.withLock { $0.steps } }

    /// Starts a process; it waits for its first turn before running `body`.
    public func spawn(_ process: String, in group: inout DiscardingTaskGroup, _ body: @escaping @Sendable () async -> Void) {
        state.withLock { $0.running += 1 }
        group.addTask { await self.lifetime(process, body) }
    }

    /// Starts many processes (`count` of them, named and run by `make`). They are grouped in
    /// task groups of a few dozen: a group of ten thousand children spends its time finding the
    /// one that ended.
    public func spawn(_ count: Int, in group: inout DiscardingTaskGroup, _ make: @escaping @Sendable (Int) -> (String, @Sendable () async -> Void)) {
        state.withLock { $0.running += count }
        for start in stride(from: 0, to: count, by: 64) {
            group.addTask {
                await withDiscardingTaskGroup { inner in
                    for index in start..<min(count, start + 64) {
                        let (process, body) = make(index)
                        inner.addTask { await self.lifetime(process, body) }
                    }
                }
            }
        }
    }

    private func lifetime(_ process: String, _ body: @Sendable () async -> Void) async {
        await SimScheduler.$currentProcess.withValue(process) {
            await yield()
            await body()
            finished()
        }
    }

    /// Parks the calling process until the scheduler picks it again.
    public func yield() async {
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.order += 1
                state.makeReady(Waiter(process: Self.currentProcess ?? "?", order: state.order, continuation: continuation))
                return state.parkOne()
            }
            idle?.resume()
        }
    }

    /// Sleeps the calling process for `ms` of virtual time.
    public func sleep(ms: Int64) async {
        let wake = clock.nowMs() + max(0, ms)
        await withCheckedContinuation { continuation in
            let idle = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.order += 1
                state.makeSleeping(wake, Waiter(process: Self.currentProcess ?? "?", order: state.order, continuation: continuation))
                return state.parkOne()
            }
            idle?.resume()
        }
    }

    private func finished() {
        let idle = state.withLock { $0.parkOne() }
        idle?.resume()
    }

    /// Drives the processes until every one has ended. Call once, after spawning them.
    /// `tick` is called every `every` steps.
    public func run(every: Int? = nil, tick: () -> Void = {}) async {
        while true {
            if let every, steps % every == 0 { tick() }
            await withCheckedContinuation { continuation in
                let alreadyIdle = state.withLock { state -> Bool in
                    if state.running == 0 { return true }
                    state.idle = continuation
                    return false
                }
                if alreadyIdle { continuation.resume() }
            }
            let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if state.ready.isEmpty, let wake = state.sleeping.earliestWakeMs {
                    if wake > clock.nowMs() { clock.set(toMs: wake) }
                    while state.sleeping.earliestWakeMs == wake {
                        state.makeReady(state.sleeping.pop())
                    }
                }
                guard !state.ready.isEmpty else { return nil }
                let index = state.random.below(state.ready.count)
                state.ready.swapAt(index, state.ready.count - 1)
                let chosen = state.ready.removeLast()
                state.running = 1
                state.steps += 1
                return chosen.continuation
            }
            guard let next else { return }
            next.resume()
        }
    }
}

extension SimScheduler.State {
    /// Adds a ready process. Processes run on one thread (``SimRunner`` gives them their own
    /// executor), so the order in which they become ready is itself deterministic.
    fileprivate mutating func makeReady(_ waiter: SimScheduler.Waiter) { ready.append(waiter) }

    /// Adds a sleeping process.
    fileprivate mutating func makeSleeping(_ wakeMs: Int64, _ waiter: SimScheduler.Waiter) { sleeping.push(wakeMs, waiter) }

    /// The running process stopped (parked, slept or ended): wake the driver when none runs.
    fileprivate mutating func parkOne() -> CheckedContinuation<Void, Never>? {
        running -= 1
        guard running == 0, let idle else { return nil }
        self.idle = nil
        return idle
    }
}

/// The sleeping processes: a binary min-heap on (wake-up time, order), so that ten thousand
/// sleepers cost a logarithm per sleep, not a shift of the whole list. The heap moves plain
/// numbers; the waiters wait in slots beside it.
private struct SleeperHeap {
    private var heap: [(wakeMs: Int64, order: Int, slot: Int)] = []
    private var slots: [SimScheduler.Waiter?] = []
    private var freeSlots: [Int] = []

    var earliestWakeMs: Int64? { heap.first?.wakeMs }

    private func less(_ a: Int, _ b: Int) -> Bool { (heap[a].wakeMs, heap[a].order) < (heap[b].wakeMs, heap[b].order) }

    mutating func push(_ wakeMs: Int64, _ waiter: SimScheduler.Waiter) {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = waiter
        } else {
            slot = slots.count
            slots.append(waiter)
        }
        heap.append((wakeMs, waiter.order, slot))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest sleeper (the heap must not be empty).
    mutating func pop() -> SimScheduler.Waiter {
        heap.swapAt(0, heap.count - 1)
        let slot = heap.removeLast().slot
        let earliest = slots[slot]!
        slots[slot] = nil
        freeSlots.append(slot)
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, less(left, smallest) { smallest = left }
            if right < heap.count, less(right, smallest) { smallest = right }
            guard smallest != parent else { return earliest }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
