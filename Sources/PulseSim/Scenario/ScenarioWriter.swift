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
            "users: { count: \(s.users), operations: \(s.operationsPerUser) }",
            "behaviour:",
            "  seats_per_hold_max: \(s.seatsPerHoldMax)",
            "  hot_spot_share: \(number(s.hotSpotShare))",
            "  think_ms_max: \(s.thinkMsMax)",
            "  checkout: \(number(s.checkoutProbability))",
            "  release: \(number(s.releaseProbability))",
            "  extend: \(number(s.extendProbability))",
            "  retry_same_key: \(number(s.retryProbability))",
            "  release_by_seats: \(number(s.releaseBySeatsShare))",
            "engine: { hold_ttl_seconds: \(s.holdTTLSeconds), held_seats_max: \(s.heldSeatsPerUserMax), checkout_lease_seconds: \(s.checkoutLeaseSeconds) }",
            "observers: { subscribers: \(s.subscribers), poll_ms: \(s.subscriberPollMs), sweep_interval_ms: \(s.sweepIntervalMs), change_log: \(s.changeLogCapacity) }",
        ]
        var faults: [String] = []
        if s.pauseProbability > 0 { faults.append("  pause: { probability: \(number(s.pauseProbability)), ms: \(s.pauseMs) }") }
        if s.durableFailureProbability > 0 { faults.append("  durable_errors: { probability: \(number(s.durableFailureProbability)) }") }
        if s.clientCrashProbability > 0 { faults.append("  client_crash: { probability: \(number(s.clientCrashProbability)) }") }
        if s.subscriberDropProbability > 0 { faults.append("  subscriber_drop: { probability: \(number(s.subscriberDropProbability)), ms: \(s.subscriberDropMs) }") }
        if !s.hotStateLossAtMs.isEmpty { faults.append("  hot_state_loss: { at_ms: [\(s.hotStateLossAtMs.map(String.init).joined(separator: ", "))] }") }
        if !faults.isEmpty { lines += ["faults:"] + faults }
        if let quiesce = s.quiesceMs { lines.append("phases: { quiesce_ms: \(quiesce) }") }
        lines.append(scenario.checks == Invariant.allCases ? "checks: all" : "checks: [\(scenario.checks.map(\.rawValue).joined(separator: ", "))]")
        return lines.joined(separator: "\n") + "\n"
    }
}
