import PulseEngine
import PulseHistory
import PulseMutants
import PulseProtocol
import PulseScenario

/// Reduces a failing simulation to a smaller one that still fails the same way with the same
/// seed: fewer users, operations, subscribers and faults, a smaller venue. Greedy: each step
/// tries the candidates in order and keeps the first that still breaks the invariant.
public enum Shrinker {
    /// The smallest failing configuration found (at most `attemptsMax` runs) and its violations.
    /// `configuration` (with `mutant`, if any) must fail with a violation of `invariant`.
    public static func shrink(_ configuration: SimConfiguration, mutant: Mutant? = nil, invariant: Invariant, attemptsMax: Int = 200) async throws
        -> (configuration: SimConfiguration, violations: [Violation], attempts: Int)
    {
        var current = configuration
        var violations = try await SimRunner.run(current, mutant: mutant).violations.filter { $0.invariant == invariant }
        precondition(!violations.isEmpty, "shrink needs a failing configuration")
        var attempts = 1
        // First the faults alone, while the run is still big enough that the failure does not hang on
        // the exact schedule every fault shapes (a third of the budget at most); then everything,
        // the biggest size reductions first.
        for (phase, limit) in [(faultCandidates, attemptsMax / 3), (candidates, attemptsMax)] {
            var progress = true
            while progress && attempts < limit {
                progress = false
                for candidate in phase(current) where attempts < limit {
                    attempts += 1
                    let found = try await SimRunner.run(candidate, mutant: mutant).violations.filter { $0.invariant == invariant }
                    if !found.isEmpty {
                        current = candidate
                        violations = found
                        progress = true
                        break
                    }
                }
            }
        }
        return (current, violations, attempts)
    }

    /// Smaller neighbours of a configuration, the biggest reductions first.
    static func candidates(_ c: SimConfiguration) -> [SimConfiguration] {
        var result: [SimConfiguration] = []
        let with = changer(c) { result.append($0) }
        with { $0.users = max(1, $0.users / 2) }
        with { $0.operationsPerUser = max(1, $0.operationsPerUser / 2) }
        result += faultCandidates(c)
        with { $0.subscribers = max(0, $0.subscribers - 1) }
        with { $0.users = max(1, $0.users - 1) }
        with { $0.operationsPerUser = max(1, $0.operationsPerUser - 1) }
        with { $0.rows = max(1, $0.rows / 2) }
        with { $0.cols = max(1, $0.cols / 2) }
        if c.hotStateLossAtMs.count > 1 { with { $0.hotStateLossAtMs.removeLast() } }
        if c.failoverAtMs.count > 1 { with { $0.failoverAtMs.removeLast() } }
        if c.clockJumps.count > 1 { with { $0.clockJumps.removeLast() } }
        if c.serverCrashAtMs.count > 1 { with { $0.serverCrashAtMs.removeLast() } }
        return result
    }

    /// The configuration without each of its faults, one kind at a time.
    static func faultCandidates(_ c: SimConfiguration) -> [SimConfiguration] {
        var result: [SimConfiguration] = []
        let with = changer(c) { result.append($0) }
        with { $0.hotStateLossAtMs = [] }
        with { $0.pauseProbability = 0 }
        with { $0.subscriberDropProbability = 0 }
        with { $0.durableFailureProbability = 0 }
        with { $0.clientCrashProbability = 0 }
        with { $0.failoverAtMs = [] }
        with { $0.clockJumps = [] }
        with { $0.serverCrashAtMs = [] }
        with {
            $0.requestDelayProbability = 0
            $0.requestDropProbability = 0
            $0.responseDropProbability = 0
            $0.requestDuplicateProbability = 0
        }
        with {
            $0.messageDelayProbability = 0
            $0.messageDropProbability = 0
        }
        return result
    }

    /// Applies a change to a copy of `c` and hands the copy to `keep` when it differs from `c`.
    private static func changer(_ c: SimConfiguration, keep: @escaping (SimConfiguration) -> Void) -> ((inout SimConfiguration) -> Void) -> Void {
        { change in
            var next = c
            change(&next)
            if next != c { keep(next) }
        }
    }
}
