import PulseHistory

/// Writes a scenario as a file `ScenarioParser` reads back to the same scenario.
public enum ScenarioWriter {
    public static func yaml(_ scenario: Scenario) -> String {
        let s = scenario.simulation
        func number(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        var lines = [
            "name: \(scenario.name)",
            "description: \(scenario.description.isEmpty ? scenario.name : scenario.description)",
            "seed: \(s.seed)",
            "venue: { rows: \(s.rows), cols: \(s.cols) }",
            "users: { count: \(s.users), operations: \(s.operationsPerUser)\(arrival(s)) }",
            "behaviour:",
            "  seats_per_hold_max: \(s.seatsPerHoldMax)",
            "  hot_spot_share: \(number(s.hotSpotShare))",
            "  think_ms_max: \(s.thinkMsMax)",
            "  checkout: \(number(s.checkoutProbability))",
            "  release: \(number(s.releaseProbability))",
            "  extend: \(number(s.extendProbability))",
            "  retry_same_key: \(number(s.retryProbability))",
            "  release_by_seats: \(number(s.releaseBySeatsShare))",
            "  browse: \(number(s.browseProbability))",
            "  cancel: \(number(s.cancelProbability))",
            "  cancel_again: \(number(s.cancelAgainProbability))",
            "engine: { hold_ttl_seconds: \(s.holdTTLSeconds), held_seats_max: \(s.heldSeatsPerUserMax), checkout_lease_seconds: \(s.checkoutLeaseSeconds) }",
            "observers: { subscribers: \(s.subscribers), poll_ms: \(s.subscriberPollMs), sweep_interval_ms: \(s.sweepIntervalMs), change_log: \(s.changeLogCapacity) }",
        ]
        var faults: [String] = []
        if s.pauseProbability > 0 { faults.append("  pause: { probability: \(number(s.pauseProbability)), ms: \(s.pauseMs) }") }
        if s.durableFailureProbability > 0 { faults.append("  durable_errors: { probability: \(number(s.durableFailureProbability)) }") }
        if s.clientCrashProbability > 0 { faults.append("  client_crash: { probability: \(number(s.clientCrashProbability)) }") }
        if s.subscriberDropProbability > 0 {
            faults.append("  subscriber_drop: { probability: \(number(s.subscriberDropProbability)), ms: \(s.subscriberDropMs) }")
        }
        if !s.hotStateLossAtMs.isEmpty {
            faults.append("  hot_state_loss: { at_ms: [\(s.hotStateLossAtMs.map(String.init).joined(separator: ", "))] }")
        }
        func list(_ values: [Int64]) -> String { "[\(values.map(String.init).joined(separator: ", "))]" }
        if s.requestDelayProbability + s.requestDropProbability + s.responseDropProbability + s.requestDuplicateProbability > 0 {
            faults.append(
                "  requests: { delay: \(number(s.requestDelayProbability)), delay_ms_max: \(s.requestDelayMsMax), drop: \(number(s.requestDropProbability)), "
                    + "response_drop: \(number(s.responseDropProbability)), duplicate: \(number(s.requestDuplicateProbability)), timeout_ms: \(s.clientTimeoutMs) }"
            )
        }
        if s.messageDelayProbability + s.messageDropProbability > 0 {
            faults.append(
                "  messages: { delay: \(number(s.messageDelayProbability)), delay_ms_max: \(s.messageDelayMsMax), drop: \(number(s.messageDropProbability)) }"
            )
        }
        if !s.failoverAtMs.isEmpty { faults.append("  failover: { at_ms: \(list(s.failoverAtMs)), lag_ms: \(s.failoverLagMs) }") }
        if !s.clockJumps.isEmpty {
            faults.append("  clock_jumps: [\(s.clockJumps.map { "{ at_ms: \($0.atMs), by_ms: \($0.byMs) }" }.joined(separator: ", "))]")
        }
        if !s.serverCrashAtMs.isEmpty { faults.append("  server_crash: { at_ms: \(list(s.serverCrashAtMs)), down_ms: \(s.serverDownMs) }") }
        if !faults.isEmpty { lines += ["faults:"] + faults }
        let phases = [s.faultsUntilMs.map { "faults_ms: \($0)" }, s.quiesceMs.map { "quiesce_ms: \($0)" }].compactMap { $0 }
        if !phases.isEmpty { lines.append("phases: { \(phases.joined(separator: ", ")) }") }
        let limits = [s.durationLimitMs.map { "duration_ms: \($0)" }, s.operationsLimit.map { "operations: \($0)" }].compactMap { $0 }
        if !limits.isEmpty { lines.append("limits: { \(limits.joined(separator: ", ")) }") }
        lines.append(scenario.checks == Invariant.allCases ? "checks: all" : "checks: [\(scenario.checks.map(\.rawValue).joined(separator: ", "))]")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func arrival(_ s: SimConfiguration) -> String {
        let ramp = s.rampMs > 0 ? ", ramp_ms: \(s.rampMs)" : ""
        switch s.arrival {
        case .closed: return ramp
        case .open(let perSecond): return ", arrival: open, rate_per_second: \(perSecond)\(ramp)"
        }
    }
}
