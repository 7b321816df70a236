import ArgumentParser
import Foundation
import PulseBench
import PulseConform
import PulseEngine
import PulseHistory
import PulseMutants
import PulseReference
import PulseScenario
import PulseSim
import PulseWire

/// `pulse sim`: runs a scenario deterministically against the reference engine and checks it.
struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario file deterministically against the reference engine and check every invariant.",
        discussion: """
            The same scenario and seed give a byte-identical history. --seeds N runs a swarm of N \
            seeds from --seed on, each drawing its own fault mix (printed). Exit status 0 only when \
            no checked invariant was broken; every failure prints its seed and the command that \
            replays it. Scenario files: Scenarios/README.md. Histories: HISTORY.md.
            """)

    @Argument(help: "The scenario file (YAML).") var scenario: String?
    @Option(help: "Seed to run (default: the scenario's).") var seed: UInt64?
    @Option(help: "Run this many seeds, from --seed on.") var seeds: Int = 1
    @Option(help: "Run the engine with a known defect (see --list-mutants).") var mutant: String?
    @Option(help: "Write the history of the (last) run to this file (JSON Lines).") var history: String?
    @Flag(help: "List the mutants and exit.") var listMutants = false
    @Option(help: "On the first failure, shrink it and write the smallest failing scenario to this file.") var shrinkTo: String?
    @Option(
        help:
            "Write a report to this directory: summary.json (every seed, its rates, counts and violations), and the history (seed-N.jsonl) and its HTML picture (seed-N.html: a timeline per seat, witnesses highlighted) of every failing seed, or of the one seed run."
    ) var report: String?
    @Flag(help: "Never show the progress bar (it shows only on a terminal).") var noProgress = false
    @Option(help: "Wire mode: run the scenario's users and subscribers against this live server in real time (no faults injected).") var target:
        String?
    @Option(
        help:
            "Wire mode's protocol: pulse (REST and the live WebSocket) or socketio (a seed-style server: one-seat locks and live updates over Socket.IO 4, checkout over REST)."
    ) var profile: String = "pulse"
    @Option(
        help:
            "Wire and real-fault mode: the target's hold (lock) TTL in seconds, when it cannot say (default: the scenario's; 600 with --profile socketio, the seed's)."
    ) var targetHoldTtl: Int?
    @Option(help: "Wire and real-fault mode: an admin account on a target without test control.") var adminEmail: String?
    @Option(help: "Wire and real-fault mode: the admin's password (or PULSE_ADMIN_PASSWORD).") var adminPassword: String?
    @Flag(help: "Draw fault rates from the seed, as a swarm does (implied by --seeds N > 1; replays print it).") var swarm = false
    @Option(
        help:
            "Real-fault mode: start this deployment (Deployments/pulse.yaml, or your own), run the scenario's users over its api instances in real time while a nemesis carries out the scenario's faults on its processes and links, stop everything, check the history. --mutant then starts its Pulse instances with that defect. Needs root, iproute2 and nftables."
    ) var deploy: String?
    @Option(help: "Real-fault mode: where the deployment's logs and data go (default: a new directory under the system's temporary directory).")
    var deployDir: String?
    @Option(help: "Real-fault mode: SecantusDB's server, for {secantusd}.") var secantusd = ".build/py-venv/bin/secantusd-py"
    @Option(help: "Real-fault mode: a Python with python-socketio and aiohttp, for {python} (the seed stand-in).") var python =
        ".build/py-venv/bin/python"

    func run() async throws {
        if listMutants {
            for mutant in Mutant.allCases { print("\(mutant.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)) \(mutant.summary)") }
            return
        }
        guard let path = scenario else { throw ValidationError("give a scenario file (or --list-mutants)") }
        let parsed = try loadScenario(path)
        if let deploy {
            guard target == nil else { throw ValidationError("--deploy starts its own target; give --deploy or --target, not both") }
            return try await runDeployed(parsed, file: deploy)
        }
        if let target { return try await runOnWire(parsed, target: target) }
        let chosenMutant = try mutant.map { name -> Mutant in
            guard let value = Mutant(rawValue: name) else { throw ValidationError("unknown mutant '\(name)'; see --list-mutants") }
            return value
        }
        guard (1...100_000).contains(seeds) else { throw ValidationError("--seeds must be 1...100000") }
        if let report { try FileManager.default.createDirectory(atPath: report, withIntermediateDirectories: true) }
        let first = seed ?? parsed.simulation.seed
        print(
            "\(parsed.name): \(parsed.simulation.users) users, \(parsed.simulation.rows * parsed.simulation.cols) seats\(chosenMutant.map { ", mutant \($0.rawValue)" } ?? "")"
        )
        print(SeedRow.header)
        var failures: [(seed: UInt64, violations: [Violation], nonLinearizable: [LinearizabilityReport.SeatResult])] = []
        var rows: [SeedRow] = []
        let progress = ProgressBar(enabled: !noProgress)
        for offset in 0..<UInt64(seeds) {
            let simulation = configuration(parsed, seed: first &+ offset)
            let started = ContinuousClock.now
            let seed = simulation.seed
            let onProgress: (@Sendable (SimRunner.Progress) -> Void)? = progress.enabled ? { @Sendable in progress.show(seed: seed, $0) } : nil
            let outcome = try await SimRunner.run(simulation, mutant: chosenMutant, progress: onProgress)
            progress.clear()
            let violations = outcome.violations.filter { parsed.checks.contains($0.invariant) }
            let nonLinearizable = Linearizability.check(outcome.history).violations
            let row = SeedRow(
                simulation: simulation, swarm: drawsRates ? SwarmDraw(seed: simulation.seed) : nil, outcome: outcome, violations: violations,
                nonLinearizable: nonLinearizable, wallSeconds: (ContinuousClock.now - started).seconds)
            print(row.line)
            rows.append(row)
            let failed = !violations.isEmpty || !nonLinearizable.isEmpty
            let reportHistory = report.map { "\($0)/seed-\(simulation.seed).jsonl" }.flatMap { failed || seeds == 1 ? $0 : nil }
            for file in [history, reportHistory].compactMap({ $0 }) { try writeHistory(outcome.history, to: file) }
            if let reportHistory {
                let page = HistoryHTMLReport(
                    title: "pulse sim \((path as NSString).lastPathComponent) seed \(simulation.seed)", records: outcome.history,
                    invariants: Set(parsed.checks)
                ).html()
                try Data(page.utf8).write(to: URL(fileURLWithPath: String(reportHistory.dropLast(".jsonl".count)) + ".html"))
            }
            if failed { failures.append((simulation.seed, violations, nonLinearizable)) }
        }
        if let report { try writeReport(report, scenario: parsed, path: path, rows: rows) }
        for failure in failures {
            let broken = Set(failure.violations.map(\.invariant.rawValue)).sorted() + (failure.nonLinearizable.isEmpty ? [] : ["linearizable seats"])
            print("\nseed \(failure.seed) broke \(broken.joined(separator: ", ")):")
            for violation in failure.violations.prefix(5) { print("  - \(violation)") }
            for seat in failure.nonLinearizable.prefix(5) { print("  - \(seat.event) \(seat.seat): \(seat.explanation ?? "")") }
            print(
                "  replay: pulse sim \(path) --seed \(failure.seed)\(drawsRates ? " --swarm" : "")\(mutant.map { " --mutant \($0)" } ?? "") --history seed-\(failure.seed).jsonl"
            )
        }
        // The shrinker keeps a failure of one invariant; a seat only the linearizability check
        // fails is not shrunk.
        if let shrinkTo, let failure = failures.first(where: { !$0.violations.isEmpty }) {
            let failing = configuration(parsed, seed: failure.seed)
            let invariant = failure.violations[0].invariant
            let shrunk = try await Shrinker.shrink(failing, mutant: chosenMutant, invariant: invariant)
            let minimal = Scenario(
                name: "\(parsed.name)-shrunk", description: "\(parsed.name) shrunk to its smallest failure of \(invariant.rawValue)",
                simulation: shrunk.configuration, checks: [invariant])
            try ScenarioWriter.yaml(minimal).write(toFile: shrinkTo, atomically: true, encoding: .utf8)
            print(
                "\nshrunk in \(shrunk.attempts) runs to \(shrunk.configuration.users) users x \(shrunk.configuration.operationsPerUser) operations, written to \(shrinkTo); witness:"
            )
            for violation in shrunk.violations.prefix(3) { print("  - \(violation)") }
            print("  replay: pulse sim \(shrinkTo)\(mutant.map { " --mutant \($0)" } ?? "")")
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    private var drawsRates: Bool { swarm || seeds > 1 }

    /// The simulation of one seed: the scenario's, and in a swarm the fault mix drawn from the
    /// seed (``SwarmDraw``).
    private func configuration(_ scenario: Scenario, seed: UInt64) -> SimConfiguration {
        var simulation = scenario.simulation
        simulation.seed = seed
        return drawsRates ? SwarmDraw(seed: seed).applied(to: simulation) : simulation
    }
}

extension Sim {
    /// `summary.json` of `--report`: the scenario, the command that replays each seed, every seed's row.
    private func writeReport(_ directory: String, scenario: Scenario, path: String, rows: [SeedRow]) throws {
        struct Summary: Encodable {
            var scenario: String
            var file: String
            var mutant: String?
            var seeds: [SeedRow]
            var failingSeeds: [UInt64]
        }
        let summary = Summary(
            scenario: scenario.name, file: path, mutant: mutant, seeds: rows,
            failingSeeds: rows.filter { !$0.violations.isEmpty || !$0.nonLinearizableSeats.isEmpty }.map(\.seed))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: URL(fileURLWithPath: "\(directory)/summary.json"))
        print(
            "report: \(directory)/summary.json\(summary.failingSeeds.isEmpty ? "" : " and the history (.jsonl) and HTML picture (.html) of each failing seed")"
        )
    }
}

extension Sim {
    /// What a wire run did, in one line: records, holds granted and refused, bookings, unknown
    /// outcomes, violations of the scenario's checks, wall time.
    static func countsLine(_ outcome: WireRunner.Outcome, violations: [Violation]) -> String {
        let counts = HistoryCounts(outcome.history)
        return String(
            format: "records %d, holds ok %d, refused %d, bookings %d, unknown %d, violations %d, wall %.1f s", counts.records,
            counts.holdsGranted, counts.holdsRefused, counts.bookings, counts.unanswered, violations.count, outcome.wallSeconds)
    }

    /// Wire mode: the scenario against a live server, checked with the same checker.
    private func runOnWire(_ scenario: Scenario, target: String) async throws {
        guard let chosenProfile = Profile(rawValue: profile) else { throw ValidationError("unknown profile '\(profile)'; pulse or socketio") }
        if let targetHoldTtl, !(1...86_400).contains(targetHoldTtl) { throw ValidationError("--target-hold-ttl must be 1...86400 seconds") }
        guard seeds == 1, mutant == nil, shrinkTo == nil else {
            throw ValidationError("--seeds, --mutant and --shrink-to are for the deterministic mode, not --target")
        }
        var simulation = scenario.simulation
        simulation.seed = seed ?? simulation.seed
        let runner = ConformanceRunner(
            baseURL: target, runID: SecureIdentifierSource().hex(bytes: 4), profile: chosenProfile, adminEmail: adminEmail,
            adminPassword: adminPassword ?? ProcessInfo.processInfo.environment["PULSE_ADMIN_PASSWORD"],
            holdTTLSeconds: targetHoldTtl.map(Double.init))
        let session: TargetSession
        do { session = try await runner.prepare() } catch { throw ValidationError("cannot reach \(target): \(error)") }
        guard session.adminToken != nil else { throw ValidationError("\(target) offers no test control; give --admin-email and --admin-password") }
        print(
            "\(scenario.name) on \(target) (\(chosenProfile.rawValue)): \(simulation.users) users, \(simulation.rows * simulation.cols) seats, real time (test control: \(session.testControl ? "yes" : "no"))"
        )
        var unhonoured = WireRunner.unhonoured(simulation, targetCap: session.heldSeatsMax ?? 10)
        if chosenProfile == .socketio, simulation.cancelProbability > 0 {
            unhonoured.append("cancellations (behaviour.cancel: the seed protocol has none)")
        }
        if !unhonoured.isEmpty { print("not honoured in wire mode: \(unhonoured.joined(separator: "; "))") }
        let outcome: WireRunner.Outcome
        do { outcome = try await WireRunner(session: session).run(simulation, profile: chosenProfile) } catch let error as APIError {
            throw ValidationError("\(target): \(error)")
        }
        let violations = outcome.violations.filter { scenario.checks.contains($0.invariant) }
        print(Self.countsLine(outcome, violations: violations))
        if let history { try writeHistory(outcome.history, to: history) }
        for violation in violations.prefix(10) { print("  - \(violation)") }
        let seats = outcome.linearizability
        print("linearizable seats: \(seats.counts) (clock skew \(String(format: "%.1f", Double(outcome.clockSkewNs) / 1e6)) ms)")
        for seat in seats.violations.prefix(10) { print("  - \(seat.event) \(seat.seat): \(seat.explanation ?? "")") }
        print("\n" + WireRunner.guarantees)
        if !violations.isEmpty || !seats.violations.isEmpty { throw ExitCode(1) }
    }
}
