import PropertyBased
import PulseHistory
import PulseMutants
import PulseScenario
import PulseSim
import Testing

/// Properties of the simulator over generated scenarios (swift-property-based picks the inputs
/// and shrinks a failing one; each input is itself a seeded, deterministic simulation).
@Suite("Simulation properties", .timeLimit(.minutes(10)))
struct SimulationProperties {
    /// A generated simulation: venue, crowd, behaviour mix, faults and seed.
    static func simulation(seed: UInt64, users: Int, operations: Int, rows: Int, cols: Int, mix: Double) -> SimConfiguration {
        var configuration = SimConfiguration(seed: seed)
        configuration.users = users
        configuration.operationsPerUser = operations
        configuration.rows = rows
        configuration.cols = cols
        configuration.checkoutProbability = mix
        configuration.releaseProbability = (1 - mix) / 2
        configuration.extendProbability = mix / 3
        return configuration
    }

    @Test("generated scenarios keep every invariant on the reference engine, every seat linearizable")
    func referenceKeepsInvariants() async {
        await propertyCheck(
            count: 40, input: Gen.uint64(in: 0...1_000_000), Gen.int(in: 1...40), Gen.int(in: 1...8),
            Gen.int(in: 1...4), Gen.int(in: 1...12), Gen.double(in: 0...1)
        ) { seed, users, operations, rows, cols, mix in
            let outcome = try await SimRunner.run(Self.simulation(seed: seed, users: users, operations: operations, rows: rows, cols: cols, mix: mix))
            #expect(outcome.violations == [])
            #expect(Linearizability.check(outcome.history).violations.map(\.explanation) == [])
            Self.expectActivity(outcome, users: users)
        }
    }

    @Test("generated fault mixes keep every invariant on the reference engine, every seat linearizable")
    func referenceSurvivesFaults() async {
        await propertyCheck(
            count: 30, input: Gen.uint64(in: 0...1_000_000), Gen.int(in: 2...30), Gen.double(in: 0...0.15),
            Gen.int(in: 0...4), Gen.int(in: 500...15_000)
        ) { seed, users, rate, scheduled, atMs in
            var configuration = Self.simulation(seed: seed, users: users, operations: 5, rows: 3, cols: 8, mix: 0.6)
            configuration.requestDelayProbability = rate
            configuration.requestDropProbability = rate / 2
            configuration.responseDropProbability = rate / 2
            configuration.requestDuplicateProbability = rate
            configuration.messageDelayProbability = rate
            configuration.messageDropProbability = rate
            configuration.subscriberDropProbability = rate / 2
            configuration.durableFailureProbability = rate / 2
            configuration.clientCrashProbability = rate / 3
            let at = Int64(atMs)
            switch scheduled {
            case 1: configuration.hotStateLossAtMs = [at]
            case 2: configuration.failoverAtMs = [at]
            case 3: configuration.serverCrashAtMs = [at]
            case 4: configuration.clockJumps = [.init(atMs: at, byMs: at % 2 == 0 ? 3_000 : -3_000)]
            default: break
            }
            let outcome = try await SimRunner.run(configuration)
            #expect(outcome.violations == [])
            #expect(Linearizability.check(outcome.history).violations.map(\.explanation) == [])
            Self.expectActivity(outcome, users: users)
        }
    }

    /// A run keeps every invariant trivially when nothing happens in it: each property run must
    /// also show that its users acted (an operation per user at least was sent) and that the
    /// invariants had evidence to read (a hold was granted or refused, and subscribers heard of it).
    static func expectActivity(_ outcome: SimRunner.Outcome, users: Int) {
        let invoked = outcome.history.filter { $0.type == .invoke }.count
        #expect(invoked >= users, "\(invoked) operations invoked by \(users) users")
        #expect(outcome.history.contains { $0.f == "hold" && ($0.type == .ok || $0.type == .fail) }, "no hold was decided")
        #expect(outcome.history.contains { $0.type == .observe }, "no subscriber observed anything")
    }

    /// The named race each mutant is about, and the invariant its defect breaks there (none: it
    /// keeps every invariant, and a seat that is not linearizable shows it).
    static let races: [Mutant: (scenario: String, invariant: Invariant?)] = [
        .seedRelease: ("release-race", .releaseByOwnerOnly), .noFence: ("pause-past-ttl", .bookingRequiresLiveHold),
        .blindReleaseBroadcast: ("release-race", .broadcastOrder), .noSeq: ("small-race", .broadcastOrder),
        .noHoldCap: ("hoarder", .capacity), .silentExpiry: ("expiry-storm", .expiryHonoured),
        .skipReplayedChange: ("reconnect-resync", .broadcastOrder),
        .silentCancel: ("cancel-resale", .cancellationVisible), .cancelFreesResold: ("cancel-resale", .broadcastOrder),
        .staleSeatMap: ("stale-read", nil), .lostRelease: ("stale-read", nil), .seqAheadSnapshot: ("stale-read", nil),
        .tornSeatMap: ("half-seen", nil),
    ]

    @Test("every mutant breaks its own invariant within a swarm of 60 seeds from any starting seed", arguments: Mutant.allCases)
    func mutantsAreCaught(mutant: Mutant) async throws {
        let race = try #require(Self.races[mutant], "\(mutant.rawValue) has no race")
        await propertyCheck(count: 4, input: Gen.uint64(in: 0...1_000_000)) { start in
            var configuration = try ScenarioFiles.load(race.scenario).simulation
            var caught = false
            for offset in 0..<60 as Range<UInt64> where !caught {
                configuration.seed = start + offset
                let outcome = try await SimRunner.run(configuration, mutant: mutant)
                if let invariant = race.invariant {
                    caught = outcome.violations.contains { $0.invariant == invariant }
                } else {
                    caught = !Linearizability.check(outcome.history).violations.isEmpty
                }
            }
            #expect(
                caught,
                "\(mutant.rawValue) did not break \(race.invariant?.rawValue ?? "linearizability") in seeds \(start)..<\(start + 60) of \(race.scenario)"
            )
        }
    }

    @Test("shrinking a failing run yields a smaller scenario that still fails")
    func shrinkingShrinks() async {
        await propertyCheck(count: 3, input: Gen.uint64(in: 0...1_000_000)) { start in
            var configuration = try ScenarioFiles.load("pause-past-ttl").simulation
            var failing: SimConfiguration?
            for offset in 0..<40 as Range<UInt64> where failing == nil {
                configuration.seed = start + offset
                if try await SimRunner.run(configuration, mutant: .noFence).violations.contains(where: { $0.invariant == .bookingRequiresLiveHold }) {
                    failing = configuration
                }
            }
            let original = try #require(failing)
            let shrunk = try await Shrinker.shrink(original, mutant: .noFence, invariant: .bookingRequiresLiveHold, attemptsMax: 60)
            // Strictly smaller: a shrinker that gives back its input unchanged fails here.
            #expect(shrunk.configuration.users * shrunk.configuration.operationsPerUser < original.users * original.operationsPerUser)
            #expect(try await SimRunner.run(shrunk.configuration, mutant: .noFence).violations.contains { $0.invariant == .bookingRequiresLiveHold })
        }
    }
}
