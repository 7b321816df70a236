import ArgumentParser
import Foundation
import PulseBench
import PulseReference
import PulseSim

/// `pulse sim`: runs a scenario deterministically against the reference engine and checks it.
struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a scenario file deterministically against the reference engine and check every invariant.",
        discussion: """
            The same scenario and seed give a byte-identical history. --seeds N runs a swarm of N
            seeds from --seed on, each drawing its own pause rate (printed). Exit status 0 only when
            no checked invariant was broken; every failure prints its seed and the command that
            replays it. Scenario files: Scenarios/README.md. Histories: HISTORY.md.
            """)

    @Argument(help: "The scenario file (YAML).") var scenario: String?
    @Option(help: "Seed to run (default: the scenario's).") var seed: UInt64?
    @Option(help: "Run this many seeds, from --seed on.") var seeds: Int = 1
    @Option(help: "Run the engine with a known defect (see --list-mutants).") var mutant: String?
    @Option(help: "Write the history of the (last) run to this file (JSON Lines).") var history: String?
    @Flag(help: "List the mutants and exit.") var listMutants = false
    @Option(help: "On the first failure, shrink it and write the smallest failing scenario to this file.") var shrinkTo: String?
    @Flag(help: "Draw fault rates from the seed, as a swarm does (implied by --seeds N > 1; replays print it).") var swarm = false

    func run() async throws {
        if listMutants {
            for mutant in Mutant.allCases { print("\(mutant.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)) \(mutant.summary)") }
            return
        }
        guard let path = scenario else { throw ValidationError("give a scenario file (or --list-mutants)") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let parsed: Scenario
        do { parsed = try ScenarioParser.parse(String(decoding: data, as: UTF8.self)) } catch let error as ScenarioError {
            throw ValidationError("\(path): \(error)")
        }
        let chosenMutant = try mutant.map { name -> Mutant in
            guard let value = Mutant(rawValue: name) else { throw ValidationError("unknown mutant '\(name)'; see --list-mutants") }
            return value
        }
        guard (1...100_000).contains(seeds) else { throw ValidationError("--seeds must be 1...100000") }
        let first = seed ?? parsed.simulation.seed
        print("\(parsed.name): \(parsed.simulation.users) users, \(parsed.simulation.rows * parsed.simulation.cols) seats\(chosenMutant.map { ", mutant \($0.rawValue)" } ?? "")")
        print("    seed  pause p   records  holds ok  refused  bookings  violations  virtual s   wall s    steps  steps/s")
        var failures: [(seed: UInt64, violations: [Violation])] = []
        for offset in 0..<UInt64(seeds) {
            let simulation = configuration(parsed, seed: first &+ offset, mutant: chosenMutant)
            let started = ContinuousClock.now
            let outcome = try await SimRunner.run(simulation)
            let wall = ContinuousClock.now - started
            let violations = outcome.violations.filter { parsed.checks.contains($0.invariant) }
            let records = outcome.history
            let wallSeconds = wall.seconds
            print(String(format: "%8llu  %7.4f  %8d  %8d  %7d  %8d  %10d  %9.1f  %7.2f  %7d  %7.0f", simulation.seed, simulation.pauseProbability, records.count,
                         records.filter { $0.type == .ok && $0.f == "hold" }.count, records.filter { $0.type == .fail && $0.f == "hold" }.count,
                         records.filter { $0.type == .ok && $0.f == "checkout" }.count, violations.count, Double(outcome.virtualMs) / 1000,
                         wallSeconds, outcome.steps, Double(outcome.steps) / max(wallSeconds, 1e-9)))
            if let history { try records.map(HistoryReader.encode).joined(separator: "\n").appending("\n").write(toFile: history, atomically: true, encoding: .utf8) }
            if !violations.isEmpty { failures.append((simulation.seed, violations)) }
        }
        for failure in failures {
            print("\nseed \(failure.seed) broke \(Set(failure.violations.map(\.invariant.rawValue)).sorted().joined(separator: ", ")):")
            for violation in failure.violations.prefix(5) { print("  - \(violation)") }
            print("  replay: pulse sim \(path) --seed \(failure.seed)\(drawsRates ? " --swarm" : "")\(mutant.map { " --mutant \($0)" } ?? "") --history seed-\(failure.seed).jsonl")
        }
        if let shrinkTo, let failure = failures.first {
            let failing = configuration(parsed, seed: failure.seed, mutant: chosenMutant)
            let invariant = failure.violations[0].invariant
            let shrunk = try await Shrinker.shrink(failing, invariant: invariant)
            let minimal = Scenario(name: "\(parsed.name)-shrunk", description: "\(parsed.name) shrunk to its smallest failure of \(invariant.rawValue)",
                                   simulation: shrunk.configuration, checks: [invariant])
            try ScenarioWriter.yaml(minimal).write(toFile: shrinkTo, atomically: true, encoding: .utf8)
            print("\nshrunk in \(shrunk.attempts) runs to \(shrunk.configuration.users) users x \(shrunk.configuration.operationsPerUser) operations, written to \(shrinkTo); witness:")
            for violation in shrunk.violations.prefix(3) { print("  - \(violation)") }
            print("  replay: pulse sim \(shrinkTo)\(mutant.map { " --mutant \($0)" } ?? "")")
        }
        if !failures.isEmpty { throw ExitCode(1) }
    }

    private var drawsRates: Bool { swarm || seeds > 1 }

    /// The simulation of one seed: the scenario's, with the mutant, and in a swarm a pause rate
    /// drawn from the seed (0 to 2 times the scenario's).
    private func configuration(_ scenario: Scenario, seed: UInt64, mutant: Mutant?) -> SimConfiguration {
        var simulation = scenario.simulation
        simulation.seed = seed
        simulation.mutant = mutant
        if drawsRates {
            var dice = SeededRandom(seed: seed ^ 0x5EED_FA17)
            simulation.pauseProbability = min(1, scenario.simulation.pauseProbability * Double(dice.below(2001)) / 1000)
        }
        return simulation
    }
}
