/// The faults injected at store boundaries, drawn from the scheduler's seeded generator: at each
/// boundary a user's request either yields (the scheduler picks who goes next) or, rarely, pauses
/// on virtual time, long enough for its holds to expire (recorded as a `fault` line).
final class SimFaults: Sendable {
    let scheduler: SimScheduler
    let recorder: HistoryRecorder
    let pauseProbability: Double
    let pauseMs: Int64

    let durableFailureProbability: Double

    init(scheduler: SimScheduler, recorder: HistoryRecorder, pauseProbability: Double, pauseMs: Int64, durableFailureProbability: Double = 0) {
        self.scheduler = scheduler
        self.recorder = recorder
        self.pauseProbability = pauseProbability
        self.pauseMs = pauseMs
        self.durableFailureProbability = durableFailureProbability
    }

    /// When a durable commit fails, if it does: before writing, or after (the answer is lost).
    enum CommitFailure { case before, after }

    /// Draws whether the commit of the calling process fails, and records the fault.
    func commitFailure() -> CommitFailure? {
        guard durableFailureProbability > 0, let process = SimScheduler.currentProcess, process.hasPrefix("u"),
              scheduler.chance(durableFailureProbability) else { return nil }
        let failure: CommitFailure = scheduler.chance(0.5) ? .before : .after
        recorder.record("nemesis", .fault, "durable_error", ["process": .string(process), "when": .string(failure == .before ? "before" : "after")])
        return failure
    }

    /// A scheduling point. Outside simulated processes (set-up, final reads) it does nothing.
    func turn() async {
        guard let process = SimScheduler.currentProcess else { return }
        if process.hasPrefix("u"), pauseProbability > 0, scheduler.chance(pauseProbability) {
            recorder.record("nemesis", .fault, "pause", ["process": .string(process), "ms": .int(pauseMs)])
            await scheduler.sleep(ms: pauseMs)
        } else {
            await scheduler.yield()
        }
    }
}
