import Foundation

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
            if head == jobs.count { condition.unlock(); return }
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

    /// Runs `body` and every task it starts (task groups, `async let`) on one fresh thread, which
    /// ends when `body` has returned.
    static func run<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        let executor = SimExecutor()
        let thread = Thread { executor.loop() }
        thread.name = "pulse-sim"
        thread.stackSize = 8 << 20
        thread.start()
        defer { executor.stop() }
        return try await withTaskExecutorPreference(executor) { try await body() }
    }
}
