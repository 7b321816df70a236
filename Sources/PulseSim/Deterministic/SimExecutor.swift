import Foundation
import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario
import Synchronization

/// The one thread a simulation runs on. Every simulated process is a task with this executor as
/// its preference (``run(_:)``), so a scheduling decision resumes the next process on the same
/// thread, with no hop through the global pool: the scheduler's speed is that of a function call
/// and a queue, not of a thread wake-up. (Work that leaves by itself, such as SQLite's own queue,
/// comes back here when it resumes.)
final class SimExecutor: TaskExecutor, @unchecked Sendable {
    // Guarded by `condition`.
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var stopping = false
    private let condition = NSCondition()

    private init() {}

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count || head > 4_096 {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: executor)
        }
    }

    private func stop() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// At most this many simulations run at once (one core is left to everything else: a test
    /// run starts many simulations side by side, and their threads sit outside Swift's pool).
    private static let gate = SimulationGate(limit: max(1, ProcessInfo.processInfo.activeProcessorCount - 1))

    /// Runs `body` and every task it starts (task groups, `async let`) on one fresh thread, which
    /// ends when `body` has returned. Waits while too many simulations run already.
    static func run<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await gate.enter()
        defer { gate.leave() }
        return try await runOnNewThread(body)
    }

    private static func runOnNewThread<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        let executor = SimExecutor()
        let thread = Thread { executor.loop() }
        thread.name = "pulse-sim"
        thread.stackSize = 8 << 20
        thread.start()
        defer { executor.stop() }
        return try await withTaskExecutorPreference(executor) { try await body() }
    }
}

/// A counting semaphore for simulations, first come first served.
private final class SimulationGate: Sendable {
    let limit: Int
    private let state = Mutex<(running: Int, waiting: [CheckedContinuation<Void, Never>])>((0, []))

    init(limit: Int) { self.limit = limit }

    func enter() async {
        await withCheckedContinuation { continuation in
            let admitted = state.withLock { state in
                guard state.running < limit else {
                    state.waiting.append(continuation)
                    return false
                }
                state.running += 1
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    /// Lets the next waiting simulation in (it takes over this one's place).
    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiting.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
