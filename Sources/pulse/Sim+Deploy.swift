import ArgumentParser
import Foundation
import PulseConform
import PulseDeploy
import PulseEngine
import PulseHistory
import PulseScenario

extension Sim {
    /// Real-fault mode: the deployment started, the scenario's users on it while the nemesis
    /// acts, everything stopped (also on SIGINT and on failure), the history checked.
    func runDeployed(_ scenario: Scenario, file: String) async throws {
        guard let chosenProfile = Profile(rawValue: profile) else { throw ValidationError("unknown profile '\(profile)'; pulse or socketio") }
        guard seeds == 1, shrinkTo == nil else { throw ValidationError("--seeds and --shrink-to are for the deterministic mode, not --deploy") }
        if let targetHoldTtl, !(1...86_400).contains(targetHoldTtl) { throw ValidationError("--target-hold-ttl must be 1...86400 seconds") }
        let password = adminPassword ?? ProcessInfo.processInfo.environment["PULSE_ADMIN_PASSWORD"]
        if adminEmail != nil, password == nil { throw ValidationError("--admin-email needs --admin-password (or PULSE_ADMIN_PASSWORD)") }
        let deployment = try Deploy.deployment(file, mutant: mutant)
        var simulation = scenario.simulation
        simulation.seed = seed ?? simulation.seed
        let plan = NemesisPlan.plan(simulation, deployment: deployment)
        print(
            "\(scenario.name) on \(deployment.name) (\(deployment.apis.count) api instances\(mutant.map { ", mutant \($0)" } ?? "")): \(simulation.users) users, \(plan.actions.count) faults planned"
        )
        for action in plan.actions { print("  at \(action.atMs) ms for \(action.durationMs) ms: \(action.kind)") }
        if !plan.unhonoured.isEmpty { print("not carried out on a real deployment: \(plan.unhonoured.joined(separator: "; "))") }
        if !plan.steppedClocks.isEmpty, Tools.installedLibfaketime() == nil {
            throw ValidationError("the scenario steps clocks (faults.clock_jumps): that needs libfaketime, Debian's faketime package")
        }
        NetworkLab.removeAbandoned()
        let directory = deployDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("pulse-deploy-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let stop = Deploy.stopSignal()
        let run = try await DeploymentRun.start(
            deployment, tools: Deploy.tools(secantusd: secantusd, python: python, mutant: mutant), directory: directory,
            steppedClocks: plan.steppedClocks)
        print("up: \(run.apiURLs.joined(separator: ", ")) (logs in \(directory)/logs)")
        fflush(nil)  // also into a file or a pipe: what is up, and where, is known at once
        let account = adminEmail.flatMap { email in
            password.map { RealFaultRun.Admin(email: email, password: $0, holdTTLSeconds: targetHoldTtl.map(Double.init)) }
        }
        let work = Task {
            try await RealFaultRun.run(simulation, on: run, profile: chosenProfile, runID: SecureIdentifierSource().hex(bytes: 4), admin: account)
        }
        let interrupt = Task {
            await stop.value
            work.cancel()
        }
        let result = await work.result
        interrupt.cancel()
        print("stopping \(deployment.name)")
        await run.stop()
        if work.isCancelled, case .failure = result { throw ExitCode(130) }
        let outcome = try result.get()
        try report(outcome, scenario: scenario)
    }

    private func report(_ outcome: RealFaultRun.Outcome, scenario: Scenario) throws {
        let violations = outcome.wire.violations.filter { scenario.checks.contains($0.invariant) }
        print(Self.countsLine(outcome.wire, violations: violations))
        let served = Dictionary(grouping: outcome.wire.history.compactMap { $0.type == .invoke ? $0.string("via") : nil }) { $0 }.mapValues(\.count)
        // `via` is recorded where users spread over several instances.
        if !served.isEmpty {
            print("requests by instance: \(served.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        }
        let hit = outcome.coverage.filter { $0.overlapped > 0 }.count
        print("faults: \(outcome.coverage.count), \(hit) of them overlapped operations")
        for fault in outcome.coverage {
            print(
                "  \(fault.fault) \(fault.target): \(String(format: "%.1f", Double(fault.endNs - fault.startNs) / 1e9)) s, \(fault.overlapped) operations under way"
            )
        }
        if let history { try writeHistory(outcome.wire.history, to: history) }
        if let report {
            try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true)
            try writeHistory(outcome.wire.history, to: "\(report)/history.jsonl")
            let page = HistoryHTMLReport(
                title: "pulse sim \(scenario.name) --deploy", records: outcome.wire.history, invariants: Set(scenario.checks)
            )
            .html()
            try Data(page.utf8).write(to: URL(fileURLWithPath: "\(report)/history.html"))
            print("report: \(report)/history.jsonl and history.html")
        }
        for violation in violations.prefix(10) { print("  - \(violation)") }
        let seats = outcome.wire.linearizability
        // The skew the holds measured: near 0 when every instance states expiries on one clock; the
        // whole TTL when they disagree (then expiries are judged only to within the TTL).
        print("linearizable seats: \(seats.counts) (clock skew \(String(format: "%.1f", Double(outcome.wire.clockSkewNs) / 1e6)) ms)")
        for seat in seats.violations.prefix(10) { print("  - \(seat.event) \(seat.seat): \(seat.explanation ?? "")") }
        if !violations.isEmpty || !seats.violations.isEmpty { throw ExitCode(1) }
    }
}
