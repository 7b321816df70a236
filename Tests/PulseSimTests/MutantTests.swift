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

    @Test("each mutant breaks its invariant within the seed budget", arguments: Mutant.allCases)
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

    @Test("the reference passes every seed of the mutants' budget")
    func referencePassesTheSameSeeds() async throws {
        for seed in 1...Self.seedsMax {
            let outcome = try await SimRunner.run(Self.configuration(seed: seed))
            #expect(outcome.violations.isEmpty, "seed \(seed): \(outcome.violations.prefix(3))")
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
