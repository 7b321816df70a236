import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario

/// Measurements behind `pulse bench sim` and `pulse bench checker` (BENCHMARKS.md). Each pairs
/// the thing measured with a reference measured in the same run, so results read as ratios.
public enum SimBenchmarks {
    /// Steps per second of the scheduler alone: `processes` processes that only yield and sleep,
    /// `turns` times each, with no engine behind them (the floor a simulation step costs).
    public static func bareScheduler(processes: Int, turns: Int) async -> (steps: Int, seconds: Double) {
        let started = ContinuousClock.now
        let steps = await SimExecutor.run {
            let scheduler = SimScheduler(seed: 1, clock: ManualClock())
            await withDiscardingTaskGroup { group in
                scheduler.spawn(processes, in: &group) { index in
                    (
                        "p\(index)",
                        {
                            for turn in 0..<turns {
                                if turn % 2 == 0 { await scheduler.yield() } else { await scheduler.sleep(ms: Int64(1 + turn % 7)) }
                            }
                        }
                    )
                }
                await scheduler.run()
            }
            return scheduler.steps
        }
        return (steps, (ContinuousClock.now - started).seconds)
    }

    /// A history of about `records` records: the flash-sale workload (`base`) with as many users
    /// as it takes (`recordsPerUser` from a pilot run).
    public static func history(records: Int, base: SimConfiguration, recordsPerUser: Double) async throws -> [HistoryRecord] {
        var configuration = base
        configuration.users = max(1, Int(Double(records) / recordsPerUser))
        let first = try await SimRunner.run(configuration, check: false).history
        guard abs(first.count - records) > records / 20 else { return first }
        // Bigger crowds lose more races (fewer records each): scale once by what this run showed.
        configuration.users = max(1, Int(Double(configuration.users) * Double(records) / Double(max(1, first.count))))
        return try await SimRunner.run(configuration, check: false).history
    }

    /// What ``checker(_:repeats:)`` measured on one history.
    public struct CheckerTiming: Sendable {
        /// Seconds of the invariants (`HistoryChecker.check`), best of the repeats.
        public var checker = Double.infinity
        /// Seconds of a plain pass over the same records: the floor any checker pays.
        public var linearPass = Double.infinity
        public var violations = 0
        /// Seconds to build the history's index (pairing each request with its answer), which
        /// `pulse check` builds once for the invariants and the linearizability check.
        public var index = Double.infinity
        /// Seconds of the linearizability check (every seat, then the multi-seat pairs) on the
        /// index, as `pulse check` runs it.
        public var linearizability = Double.infinity
        /// Seats the linearizability check did not find `ok`.
        public var nonLinearizable = 0
        /// Seats the linearizability check judged.
        public var seats = 0
        /// Operations the history records: requests and live messages (`invoke` and `observe` records).
        public var operations = 0
    }

    /// Seconds the checker and the linearizability check take on `history`, and seconds of a
    /// plain pass over the same records (decoding nothing, counting per process: the floor any
    /// checker pays), best of `repeats`.
    public static func checker(_ history: [HistoryRecord], repeats: Int = 3) -> CheckerTiming {
        var best = CheckerTiming()
        best.operations = history.count { $0.type == .invoke || $0.type == .observe }
        for _ in 0..<repeats {
            var started = ContinuousClock.now
            let violations = HistoryChecker.check(history)
            best.checker = min(best.checker, (ContinuousClock.now - started).seconds)
            best.violations = violations.count
            started = ContinuousClock.now
            let index = HistoryIndex(history)
            best.index = min(best.index, (ContinuousClock.now - started).seconds)
            started = ContinuousClock.now
            let seats = Linearizability.check(index)
            best.linearizability = min(best.linearizability, (ContinuousClock.now - started).seconds)
            best.nonLinearizable = seats.violations.count + seats.count(.unknown)
            best.seats = seats.seats.count
            started = ContinuousClock.now
            var perProcess: [String: Int] = [:]
            for record in history { perProcess[record.process, default: 0] += record.value.count }
            precondition(!perProcess.isEmpty || history.isEmpty)
            best.linearPass = min(best.linearPass, (ContinuousClock.now - started).seconds)
        }
        return best
    }
}
