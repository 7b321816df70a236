/// The faults injected at store boundaries, drawn from the scheduler's seeded generator: at each
/// boundary a user's request either yields (the scheduler picks who goes next) or, rarely, pauses
/// on virtual time, long enough for its holds to expire (recorded as a `fault` line).
final class SimFaults: Sendable {
    let scheduler: SimScheduler
    let recorder: HistoryRecorder
    let pauseProbability: Double
    let pauseMs: Int64

    init(scheduler: SimScheduler, recorder: HistoryRecorder, pauseProbability: Double, pauseMs: Int64) {
        self.scheduler = scheduler
        self.recorder = recorder
        self.pauseProbability = pauseProbability
        self.pauseMs = pauseMs
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
