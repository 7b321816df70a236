import PulseHistory
import PulseMutants
import PulseScenario
import Testing

@testable import PulseSim

/// Shrinking is bounded by its work, not by the clock: a budget of simulator runs (each run is
/// itself bounded by its scenario's operations), so a slower or busier machine takes longer and
/// comes to the same result.
@Suite("Shrinking a failing run")
struct ShrinkerTests {
    /// Simulator runs a shrink may take in these tests (the shrinker's default is 200).
    static let attemptsMax = 60

    @Test("shrinking drops the faults a failure does not need and keeps the one it does")
    func shrinksFaults() async throws {
        var failing = try ScenarioTests.load("failover.yaml").simulation
        failing.recoverAfterFailover = false
        failing.requestDelayProbability = 0.05
        failing.requestDuplicateProbability = 0.05
        failing.messageDelayProbability = 0.05
        failing.clockJumps = [.init(atMs: 2_000, byMs: 500)]
        var seed: UInt64 = 1
        while !(try await SimRunner.run(
            {
                var c = failing
                c.seed = seed
                return c
            }()
        ).violations.contains { $0.invariant == .broadcastOrder }) {
            seed += 1
            try #require(seed <= 20, "no failing seed to shrink")
        }
        failing.seed = seed
        let shrunk = try await Shrinker.shrink(failing, invariant: .broadcastOrder, attemptsMax: Self.attemptsMax)
        let small = shrunk.configuration
        func faultKinds(_ c: SimConfiguration) -> Int {
            [
                c.pauseProbability > 0, c.requestDelayProbability + c.requestDuplicateProbability > 0, c.messageDelayProbability > 0,
                !c.clockJumps.isEmpty, !c.failoverAtMs.isEmpty,
            ].filter { $0 }.count
        }
        #expect(faultKinds(small) < faultKinds(failing), "some faults were dropped: \(small)")
        #expect(!small.failoverAtMs.isEmpty, "the failover is what breaks the order; it stays")
        #expect(try await SimRunner.run(small).violations.contains { $0.invariant == .broadcastOrder })
    }

    @Test("a mutant's failure shrinks to a smaller scenario that still fails the same way, and round-trips as a file")
    func shrinksAndRoundTrips() async throws {
        var failing = try ScenarioTests.load("pause-past-ttl.yaml").simulation
        var seed: UInt64 = 1
        while try await SimRunner.run(
            {
                var c = failing
                c.seed = seed
                return c
            }(), mutant: .noFence
        ).violations.isEmpty {
            seed += 1
            try #require(seed <= 20, "no failing seed to shrink")
        }
        failing.seed = seed
        let shrunk = try await Shrinker.shrink(failing, mutant: .noFence, invariant: .bookingRequiresLiveHold, attemptsMax: Self.attemptsMax)
        let small = shrunk.configuration
        #expect(small.users * small.operationsPerUser < failing.users * failing.operationsPerUser, "smaller than the original")
        #expect(!shrunk.violations.isEmpty && shrunk.violations.allSatisfy { $0.invariant == .bookingRequiresLiveHold })
        let again = try await SimRunner.run(small, mutant: .noFence)
        #expect(again.violations.contains { $0.invariant == .bookingRequiresLiveHold }, "the shrunk scenario replays the failure")

        let file = ScenarioWriter.yaml(Scenario(name: "shrunk", description: "shrunk", simulation: small, checks: [.bookingRequiresLiveHold]))
        let reread = try ScenarioParser.parse(file)
        #expect(reread.simulation == small, "the scenario round-trips (the mutant is given on the command line, not in the file)")
        #expect(reread.checks == [.bookingRequiresLiveHold])
    }
}
