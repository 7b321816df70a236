import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario

/// The faults injected at store boundaries, drawn from the scheduler's seeded generator: at each
/// boundary a user's request either yields (the scheduler picks who goes next) or, rarely, pauses
/// on virtual time, long enough for its holds to expire (recorded as a `fault` line). A request
/// of a server that crashed meanwhile dies at its next boundary. Probabilistic faults happen only
/// in the faulty phase (``SimConfiguration/faultsUntilMs``).
final class SimFaults: Sendable {
    let scheduler: SimScheduler
    let recorder: HistoryRecorder
    let configuration: SimConfiguration
    let server: SimServer
    let startMs: Int64

    init(scheduler: SimScheduler, recorder: HistoryRecorder, configuration: SimConfiguration, server: SimServer, startMs: Int64) {
        self.scheduler = scheduler
        self.recorder = recorder
        self.configuration = configuration
        self.server = server
        self.startMs = startMs
    }

    /// Whether the run is still in its faulty phase.
    var active: Bool { configuration.faultsUntilMs.map { scheduler.clock.nowMs() < startMs + $0 } ?? true }

    /// True with probability `p` while the faulty phase lasts.
    func strikes(_ p: Double) -> Bool { p > 0 && active && scheduler.chance(p) }

    /// When a durable commit fails, if it does: before writing, or after (the answer is lost).
    enum CommitFailure { case before, after }

    /// Draws whether the commit of the calling process fails, and records the fault.
    func commitFailure() -> CommitFailure? {
        guard let process = SimScheduler.currentProcess, process.hasPrefix("u"), strikes(configuration.durableFailureProbability) else { return nil }
        let failure: CommitFailure = scheduler.chance(0.5) ? .before : .after
        recorder.record("nemesis", .fault, "durable_error", ["process": .string(process), "when": .string(failure == .before ? "before" : "after")])
        return failure
    }

    /// A scheduling point. Outside simulated processes (set-up, final reads) it does nothing.
    /// Throws ``ServerCrashed`` when the request's server crashed.
    func turn() async throws {
        guard let process = SimScheduler.currentProcess else { return }
        if process.hasPrefix("u"), strikes(configuration.pauseProbability) {
            recorder.record("nemesis", .fault, "pause", ["process": .string(process), "ms": .int(configuration.pauseMs)])
            await scheduler.sleep(ms: configuration.pauseMs)
        } else {
            await scheduler.yield()
        }
        if let epoch = SimServer.requestEpoch, server.crashed(since: epoch) { throw ServerCrashed() }
    }
}
