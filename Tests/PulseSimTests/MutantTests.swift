import PulseHistory
import PulseMutants
import PulseScenario
import Testing

@testable import PulseSim

/// The harness must be able to fail: every known-broken engine is caught within a bounded number
/// of seeds, by the invariant its defect breaks, while the reference passes the same seeds.
@Suite("Mutants are caught by the simulator", .timeLimit(.minutes(10)))
struct MutantTests {
    static let seedsMax: UInt64 = 60

    static let expected: [Mutant: Set<Invariant>] = [
        .seedRelease: [.releaseByOwnerOnly],
        .noFence: [.bookingRequiresLiveHold],
        .blindReleaseBroadcast: [.broadcastOrder],
        .noSeq: [.broadcastOrder],
        .noHoldCap: [.capacity],
        .silentExpiry: [.expiryHonoured, .broadcastOrder],
        .skipReplayedChange: [.broadcastOrder],
        .silentCancel: [.cancellationVisible, .broadcastOrder],
        .cancelFreesResold: [.broadcastOrder, .cancellationVisible],
    ]

    /// Mutants that keep every invariant: only the per-seat linearizability check sees them.
    static let seenOnlyAsNonLinearizable: Set<Mutant> = [.staleSeatMap, .lostRelease, .seqAheadSnapshot]
    /// Mutants that the multi-seat part of the linearizability check is there for: each seat alone
    /// is explained (ScenarioTests, `half-seen`).
    static let seenAsHalfDone: Set<Mutant> = [.tornSeatMap]

    @Test(
        "each mutant breaks its invariant within the seed budget",
        arguments: Mutant.allCases.filter { !seenOnlyAsNonLinearizable.contains($0) && !seenAsHalfDone.contains($0) })
    func mutantIsCaught(mutant: Mutant) async throws {
        var caughtAt: UInt64?
        var broken: Set<Invariant> = []
        for seed in 1...Self.seedsMax {
            let outcome = try await SimRunner.run(Self.configuration(seed: seed), mutant: mutant)
            if !outcome.violations.isEmpty {
                caughtAt = seed
                broken = Set(outcome.violations.map(\.invariant))
                break
            }
        }
        #expect(caughtAt != nil, "\(mutant.rawValue) survived \(Self.seedsMax) seeds")
        #expect(
            !broken.isDisjoint(with: Self.expected[mutant]!),
            "\(mutant.rawValue) broke \(broken.map(\.rawValue)) instead of \(Self.expected[mutant]!.map(\.rawValue))")
    }

    /// Users who read the seat map before most holds and release often: the reads and releases
    /// these mutants lie about.
    static func readerConfiguration(seed: UInt64) -> SimConfiguration {
        var configuration = configuration(seed: seed)
        configuration.browseProbability = 0.5
        configuration.releaseProbability = 0.4
        configuration.releaseBySeatsShare = 0
        return configuration
    }

    @Test(
        "a mutant no invariant sees keeps every invariant on every seed, and a seat that is not linearizable shows it within the budget",
        arguments: Array(seenOnlyAsNonLinearizable).sorted { $0.rawValue < $1.rawValue })
    func nonLinearizableMutantIsCaught(mutant: Mutant) async throws {
        var caughtAt: UInt64?
        for seed in 1...Self.seedsMax where caughtAt == nil {
            let outcome = try await SimRunner.run(Self.readerConfiguration(seed: seed), mutant: mutant)
            #expect(outcome.violations == [], "\(mutant.rawValue) seed \(seed) broke an invariant: \(outcome.violations.prefix(2))")
            if !Linearizability.check(outcome.history).violations.isEmpty { caughtAt = seed }
        }
        #expect(caughtAt != nil, "\(mutant.rawValue): every seat linearizable in \(Self.seedsMax) seeds")
    }

    @Test("the reference passes every seed of the mutants' budget")
    func referencePassesTheSameSeeds() async throws {
        for seed in 1...Self.seedsMax {
            let outcome = try await SimRunner.run(Self.configuration(seed: seed))
            #expect(outcome.violations.isEmpty, "seed \(seed): \(outcome.violations.prefix(3))")
            let readers = try await SimRunner.run(Self.readerConfiguration(seed: seed))
            #expect(readers.violations.isEmpty, "readers, seed \(seed): \(readers.violations.prefix(3))")
            let seats = Linearizability.check(readers.history)
            #expect(seats.violations.isEmpty && seats.count(.unknown) == 0, "readers, seed \(seed): \(seats.violations.prefix(2))")
        }
    }

    /// The default workload, with subscribers that drop and rejoin now and then (so the live
    /// hub's catch-up runs, where `skip-replayed-change` lives) and buyers who cancel, some twice.
    static func configuration(seed: UInt64) -> SimConfiguration {
        var configuration = SimConfiguration(seed: seed)
        configuration.cancelProbability = 0.3
        configuration.cancelAgainProbability = 0.6
        configuration.subscriberDropProbability = 0.05
        configuration.subscriberDropMs = 300
        return configuration
    }
}
