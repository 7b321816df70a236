import ArgumentParser
import Foundation
import PulseBench
import PulseHistory
import PulseScenario
import PulseSim

/// `pulse bench sim`: scheduler steps per second and time compression on a scenario, against the
/// bare scheduler measured in the same run.
struct SimBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Simulator speed: steps per second and virtual over wall time on a scenario, against the bare scheduler.",
        discussion: """
            The reference row runs the scheduler alone (processes that only yield and sleep, no \
            engine): the most steps per second a simulation could take. The scenario row runs the \
            real engine on the simulated stores, with its checker. Build with -c release.
            """)

    @Argument(help: "The scenario (default Scenarios/flash-sale.yaml).") var scenario: String = "Scenarios/flash-sale.yaml"
    @Option(help: "Runs of the scenario (seeds from the scenario's on).") var runs: Int = 3

    func run() async throws {
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be 1...100") }
        let parsed = try loadScenario(scenario)
        let bare = await SimBenchmarks.bareScheduler(processes: 10_000, turns: 20)
        let bareRate = Double(bare.steps) / bare.seconds
        print("                                  steps    wall s   steps/s  virtual/wall  vs bare scheduler")
        print(String(format: "bare scheduler (10,000 x 20)  %9d  %8.2f  %8.0f  %12@  reference", bare.steps, bare.seconds, bareRate, "-"))
        for offset in 0..<runs {
            var simulation = parsed.simulation
            simulation.seed &+= UInt64(offset)
            let started = ContinuousClock.now
            let outcome = try await SimRunner.run(simulation)
            let wall = (ContinuousClock.now - started).seconds
            guard outcome.violations.isEmpty else { throw ValidationError("seed \(simulation.seed) broke an invariant; benchmark void") }
            let rate = Double(outcome.steps) / wall
            print(
                String(
                    format: "%@ seed %-8llu %9d  %8.2f  %8.0f  %12.1f  %.2fx", parsed.name.padding(toLength: 15, withPad: " ", startingAt: 0),
                    simulation.seed,
                    outcome.steps, wall, rate, Double(outcome.virtualMs) / 1000 / wall, rate / bareRate))
        }
    }
}

/// `pulse bench checker`: checker events per second on histories up to `--events` records, against
/// a plain pass over the same records; the linearizability check's operations per second on the
/// same histories, and its cost per seat on venues of growing size.
struct CheckerBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checker",
        abstract:
            "Checker speed: events per second of the invariants and operations per second of the linearizability check on growing histories (to a million), against a plain pass over them.",
        discussion: """
            Times the invariants (best of 3) and a plain pass over the same records, then builds \
            the history's index once (index s: what `pulse check` shares between the invariants and \
            the linearizability check) and times the linearizability check (every seat, then the \
            multi-seat pairs) on it: first on the flash sale as it is (Scenarios/flash-sale.yaml, \
            10,000 users) and on venues of 200 to 1,300 seats with twenty users a seat (the same \
            operations per seat: a steady cost per seat is a check linear in the number of seats), \
            then on flash-sale histories with more users of a quarter, a half and all of --events \
            records (linear growth shows as a steady events/s and a steady ratio to the plain pass). \
            The big histories come last: the heap a million records leave behind slows whatever \
            runs after them in the same process. Build with -c release; a million events needs a \
            few GB of memory.
            """)

    @Option(help: "Records in the largest history.") var events: Int = 1_000_000
    @Option(help: "The scenario whose workload is scaled.") var scenario: String = "Scenarios/flash-sale.yaml"

    func run() async throws {
        guard (1_000...20_000_000).contains(events) else { throw ValidationError("--events must be 1000...20000000") }
        let base = try loadScenario(scenario).simulation
        var pilot = base
        pilot.users = 2_000
        let pilotRecords = try await SimRunner.run(pilot, check: false).history.count
        let perUser = Double(pilotRecords) / Double(pilot.users)
        print("The scenario as it is (\(base.users) users, \(base.rows * base.cols) seats):")
        print(Self.header)
        let generated = ContinuousClock.now
        let asItIs = try await SimRunner.run(base, check: false).history
        Self.row(asItIs, generateSeconds: (ContinuousClock.now - generated).seconds)
        print("\nVenues of growing size, twenty users a seat:")
        print("  seats  records  operations  linearizable s  operations/s  us per seat  not ok")
        for rows in [4, 8, 16, 26] {
            var configuration = base
            configuration.rows = rows
            configuration.cols = 50
            configuration.users = 20 * rows * 50
            let history = try await SimRunner.run(configuration, check: false).history
            let timing = SimBenchmarks.checker(history, repeats: 2)
            print(
                String(
                    format: "%7d  %7d  %10d  %14.3f  %12.0f  %11.1f  %6d", timing.seats, history.count, timing.operations, timing.linearizability,
                    Double(timing.operations) / timing.linearizability, timing.linearizability * 1_000_000 / Double(max(1, timing.seats)),
                    timing.nonLinearizable))
        }
        print("\nGrowing histories:")
        print(Self.header)
        for size in [events / 4, events / 2, events] {
            let generated = ContinuousClock.now
            let history = try await SimBenchmarks.history(records: size, base: base, recordsPerUser: perUser)
            Self.row(history, generateSeconds: (ContinuousClock.now - generated).seconds)
        }
    }

    static let header =
        "   records  generate s  checker s  events/s   plain pass s  checker / plain pass  violations  index s  operations  linearizable s  operations/s  / plain pass  seats  not ok"

    /// One row of the first table.
    static func row(_ history: [HistoryRecord], generateSeconds: Double) {
        let timing = SimBenchmarks.checker(history)
        print(
            String(
                format: "%10d  %10.1f  %9.2f  %8.0f   %12.3f  %20.1f  %10d  %7.2f  %10d  %14.2f  %12.0f  %12.1f  %5d  %6d", history.count,
                generateSeconds, timing.checker, Double(history.count) / timing.checker, timing.linearPass, timing.checker / timing.linearPass,
                timing.violations, timing.index, timing.operations, timing.linearizability, Double(timing.operations) / timing.linearizability,
                timing.linearizability / timing.linearPass, timing.seats, timing.nonLinearizable))
    }
}

/// Reads and parses a scenario file, or explains why not.
func loadScenario(_ path: String) throws -> Scenario {
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
    do { return try ScenarioParser.parse(String(decoding: data, as: UTF8.self)) } catch let error as ScenarioError {
        throw ValidationError("\(path): \(error)")
    }
}
