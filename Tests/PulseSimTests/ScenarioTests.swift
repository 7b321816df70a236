import Foundation
import PulseHistory
import PulseMutants
import Testing

@testable import PulseScenario
@testable import PulseSim

@Suite("Scenario files", .timeLimit(.minutes(10)))
struct ScenarioTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scenarios")

    static var files: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "yaml" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func load(_ name: String) throws -> Scenario {
        try ScenarioParser.parse(try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
    }

    @Test("bad scenario files are refused with the line and the field")
    func errorsNameLineAndField() {
        let cases: [(String, ScenarioError)] = [
            ("name: x\nusers:\n  count: 5\n  colour: red\n", ScenarioError(line: 4, field: "users.colour", problem: "unknown field")),
            ("name: x\nvenue: { rows: 27 }\n", ScenarioError(line: 2, field: "venue.rows", problem: "27 is out of range 1...26")),
            ("name: x\nbehaviour:\n  checkout: lots\n", ScenarioError(line: 3, field: "behaviour.checkout", problem: "expected a number")),
            (
                "name: x\nbehaviour:\n  checkout: 1.5\n",
                ScenarioError(line: 3, field: "behaviour.checkout", problem: "1.5 is not a probability (0...1)")
            ),
            ("description: nameless\n", ScenarioError(line: 1, field: "name", problem: "missing")),
            (
                "name: x\nchecks: [no-double-booking, telepathy]\n",
                ScenarioError(
                    line: 2, field: "checks",
                    problem: "unknown invariant 'telepathy'; one of \(Invariant.allCases.map(\.rawValue).joined(separator: ", "))")
            ),
            ("name: x\nusers: 12\n", ScenarioError(line: 2, field: "users", problem: "expected a mapping of fields")),
            (
                "name: x\nusers: { count: 3, arrival: sometimes }\n",
                ScenarioError(line: 2, field: "users.arrival", problem: "expected 'closed' or 'open'")
            ),
            (
                "name: x\nusers: { rate_per_second: 3 }\n",
                ScenarioError(line: 2, field: "users.rate_per_second", problem: "only an open arrival has a rate")
            ),
            (
                "name: x\nfaults:\n  clock_jumps:\n    - { at_ms: 5 }\n",
                ScenarioError(line: 4, field: "faults.clock_jumps[0].by_ms", problem: "missing")
            ),
            (
                "name: x\nfaults:\n  requests: { drop: 2 }\n",
                ScenarioError(line: 3, field: "faults.requests.drop", problem: "2.0 is not a probability (0...1)")
            ),
            ("name: x\nlimits: { operations: 0 }\n", ScenarioError(line: 2, field: "limits.operations", problem: "0 is out of range 1...100000000")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text)") { try ScenarioParser.parse(text) }
        }
        #expect(throws: ScenarioError.self) { try ScenarioParser.parse("name: [unclosed\n") }
    }

    @Test("the Scenarios directory and its README name the same races, at least fifteen (the per-file tests below run one case per file found)")
    func directoryHoldsTheRaces() throws {
        let names = Set(Self.files.map(\.lastPathComponent))
        let readme = try String(contentsOf: Self.directory.appendingPathComponent("README.md"), encoding: .utf8)
        let described = Set(readme.split(separator: "`").filter { $0.hasSuffix(".yaml") && !$0.contains(" ") }.map(String.init))
        #expect(names.count >= 15)
        #expect(
            names == described,
            "files without a README entry: \(names.subtracting(described).sorted()); README entries without a file: \(described.subtracting(names).sorted())"
        )
    }

    @Test("a scenario maps onto the simulation; no faults unless it names them")
    func mapping() throws {
        let scenario = try ScenarioParser.parse("name: tiny\nseed: 9\nvenue: { rows: 2, cols: 3 }\nusers: { count: 4 }\nchecks: [capacity]\n")
        #expect(scenario.simulation.seed == 9)
        #expect(scenario.simulation.rows == 2 && scenario.simulation.cols == 3 && scenario.simulation.users == 4)
        #expect(scenario.simulation.pauseProbability == 0)
        #expect(scenario.checks == [.capacity])
        #expect(try Self.load("pause-past-ttl.yaml").simulation.pauseProbability == 0.15)
        for file in Self.files.map(\.lastPathComponent) {
            let loaded = try Self.load(file)
            #expect(try ScenarioParser.parse(ScenarioWriter.yaml(loaded)).simulation == loaded.simulation, "\(file) survives writing and reading")
        }
        let flaky = try Self.load("flaky-network.yaml").simulation
        #expect(flaky.arrival == .open(perSecond: 4) && flaky.rampMs == 5_000 && flaky.faultsUntilMs == 20_000)
        #expect(flaky.requestDuplicateProbability == 0.05 && flaky.messageDropProbability == 0.05 && flaky.operationsLimit == 200)
        #expect(flaky.browseProbability == 0.3)
        #expect(try Self.load("clock-jump.yaml").simulation.clockJumps == [.init(atMs: 5_000, byMs: 4_000), .init(atMs: 12_000, byMs: -3_000)])
    }

    @Test(
        "every scenario file parses and, in reduced size, the reference keeps every invariant and every seat is linearizable",
        arguments: Self.files.map(\.lastPathComponent))
    func scenarioRunsClean(file: String) async throws {
        let scenario = try Self.load(file)
        for seed in 1...3 as ClosedRange<UInt64> {
            var simulation = scenario.simulation
            simulation.seed = seed
            simulation.users = min(simulation.users, 60)
            simulation.operationsPerUser = min(simulation.operationsPerUser, 6)
            let outcome = try await SimRunner.run(simulation)
            #expect(outcome.violations.filter { scenario.checks.contains($0.invariant) } == [], "\(file) seed \(seed)")
            // It ran: users acted and the server answered (a run that did nothing keeps every invariant too).
            #expect(outcome.history.contains { $0.type == .ok }, "\(file) seed \(seed): no operation took effect")
            let seats = Linearizability.check(outcome.history)
            #expect(seats.violations.map { "\($0.seat): \($0.explanation ?? "")" } == [], "\(file) seed \(seed)")
            // Judged, not waved through: only a failover leaves seats unknown.
            let failover = outcome.history.contains { $0.type == .fault && $0.f == "failover" }
            #expect(failover || (seats.count(.ok) > 0 && seats.count(.unknown) == 0), "\(file) seed \(seed): \(seats.count(.unknown)) unknown")
        }
    }

    @Test("losing the hot state mid-sale: nothing sold twice, nothing lost, every subscriber resyncs")
    func hotStateLoss() async throws {
        let scenario = try Self.load("redis-restart.yaml")
        #expect(scenario.simulation.hotStateLossAtMs == [4000, 9000])
        for seed in 1...5 as ClosedRange<UInt64> {
            var simulation = scenario.simulation
            simulation.seed = seed
            let outcome = try await SimRunner.run(simulation)
            #expect(outcome.violations == [], "seed \(seed): \(outcome.violations.prefix(3))")
            #expect(outcome.history.filter { $0.type == .fault && $0.f == "hot_state_loss" }.count == 2)
            for subscriber in ["s0", "s1"] {
                let snapshots = outcome.history.filter { $0.process == subscriber && $0.f == "snapshot" }
                #expect(snapshots.count >= 4, "initial, one resync per loss, final")
                let seqs = snapshots.compactMap { $0.int("seq") }
                #expect(seqs == seqs.sorted() && Set(seqs.map { $0 >> 32 }).count >= 3, "each resync is of a newer generation")
            }
        }
    }

    @Test("failed commits, lost answers and crashed clients: nothing doubled or lost, retries find the booking")
    func lostAcknowledgements() async throws {
        let scenario = try Self.load("lost-acknowledgement.yaml")
        var faults: [String: Int] = [:]
        var recoveredByRetry = 0
        for seed in 1...12 as ClosedRange<UInt64> {
            var simulation = scenario.simulation
            simulation.seed = seed
            let outcome = try await SimRunner.run(simulation)
            #expect(outcome.violations == [], "seed \(seed): \(outcome.violations.prefix(3))")
            for record in outcome.history where record.type == .fault { faults[record.f, default: 0] += 1 }
            // An unknown outcome followed by an ok retry with the same key.
            let checkouts = outcome.history.filter { $0.f == "checkout" }
            for (position, record) in checkouts.enumerated() where record.type == .info {
                if checkouts[(position + 1)...].first(where: { $0.process == record.process && $0.type != .invoke })?.type == .ok {
                    recoveredByRetry += 1
                }
            }
        }
        #expect(faults["durable_error", default: 0] > 3 && faults["client_crash", default: 0] > 0, "\(faults)")
        #expect(recoveredByRetry > 0, "some unknown outcomes were settled by a retry with the same key")
    }

    @Test(
        "failover, clock jumps, server crashes and a flaky network: the faults happen and the reference keeps every invariant",
        arguments: [
            ("failover.yaml", ["failover"]),
            ("clock-jump.yaml", ["clock_jump"]),
            ("server-crash.yaml", ["server_crash", "server_restart"]),
            ("flaky-network.yaml", ["delay", "request_drop", "response_drop", "request_duplicate", "message_delay", "message_drop"]),
        ])
    func scheduledAndNetworkFaults(file: String, kinds: [String]) async throws {
        let scenario = try Self.load(file)
        var seen: [String: Int] = [:]
        var unanswered = 0
        var browses = 0
        for seed in 1...5 as ClosedRange<UInt64> {
            var simulation = scenario.simulation
            simulation.seed = seed
            let outcome = try await SimRunner.run(simulation)
            #expect(outcome.violations == [], "\(file) seed \(seed): \(outcome.violations.prefix(3))")
            for record in outcome.history where record.type == .fault { seen[record.f, default: 0] += 1 }
            unanswered += outcome.history.filter { $0.type == .info }.count
            browses += outcome.history.filter { $0.type == .ok && $0.f == "browse" }.count
            if let until = simulation.faultsUntilMs {
                let late = outcome.history.filter { $0.type == .fault && $0.timeNs >= (SimRunner.startMs + until) * 1_000_000 }
                #expect(late.isEmpty, "no fault after the faulty phase: \(late.prefix(2))")
            }
        }
        for kind in kinds { #expect(seen[kind, default: 0] > 0, "\(file) never injected \(kind): \(seen)") }
        if file != "clock-jump.yaml" && file != "failover.yaml" { #expect(unanswered > 0, "some requests went unanswered and were recorded as info") }
        #expect((browses > 0) == (scenario.simulation.browseProbability > 0), "users browse the seat map when the file says so")
    }

    /// The invariants judge an unfenced checkout only when another user took the seat in between;
    /// here nobody did. The seat was still announced released by its expiry, then booked by the
    /// holder whose hold had lapsed: no order of the seat's operations explains both.
    @Test("a defect the invariants miss: an unfenced checkout that books a seat after its hold expired, with nobody else taking it")
    func linearizabilityCatchesWhatInvariantsMiss() async throws {
        let scenario = try Self.load("small-race.yaml")
        var simulation = scenario.simulation
        simulation.seed = 1
        let broken = try await SimRunner.run(simulation, mutant: .noFence)
        #expect(broken.violations.filter { scenario.checks.contains($0.invariant) } == [], "every invariant holds")
        let seats = Linearizability.check(broken.history).violations
        #expect(seats.map(\.seat) == ["B10"])
        #expect(seats.first?.explanation?.contains("needs it free, but every order") == true)
        let fixed = try await SimRunner.run(simulation)
        #expect(Linearizability.check(fixed.history).violations.isEmpty, "the reference, same seed")
    }

    @Test("a server that trusts a lagging replica after a failover is caught")
    func trustingAReplicaIsCaught() async throws {
        var simulation = try Self.load("failover.yaml").simulation
        simulation.recoverAfterFailover = false
        var broken: Set<Invariant> = []
        for seed in 1...10 as ClosedRange<UInt64> {
            simulation.seed = seed
            broken.formUnion(try await SimRunner.run(simulation).violations.map(\.invariant))
        }
        #expect(broken.contains(.broadcastOrder), "seqs repeat and views diverge: \(broken)")
    }

    @Test("open arrivals ramp up; limits stop new operations")
    func arrivalsAndLimits() async throws {
        var open = SimConfiguration()
        open.users = 60
        open.arrival = .open(perSecond: 4)
        open.rampMs = 5_000
        let arrivals = SimWorld.arrivals(open)
        #expect(arrivals == arrivals.sorted() && arrivals.count == 60)
        let inRamp = arrivals.filter { $0 < 5_000 }.count
        #expect((4...20).contains(inRamp), "about rate x ramp / 2 = 10 arrive while the rate climbs: \(inRamp)")
        #expect((12_000...30_000).contains(arrivals.last!), "then about 4 a second: the last at ~17.5 s, not \(arrivals.last!)")
        var closed = SimConfiguration()
        closed.users = 4
        closed.rampMs = 2_000
        #expect(SimWorld.arrivals(closed) == [0, 500, 1_000, 1_500])

        let scenario = try Self.load("flaky-network.yaml")
        let limit = try #require(scenario.simulation.operationsLimit)
        let duration = try #require(scenario.simulation.durationLimitMs)
        var limited = scenario.simulation
        limited.operationsLimit = 40
        for simulation in [scenario.simulation, limited] {
            let holds = try await SimRunner.run(simulation).history.filter { $0.type == .invoke && $0.f == "hold" }
            #expect(holds.count <= (simulation.operationsLimit ?? limit) && holds.count >= (simulation.operationsLimit ?? limit) / 2)
            #expect(holds.allSatisfy { $0.timeNs < (SimRunner.startMs + duration) * 1_000_000 })
        }
    }

    @Test(
        "each named race catches the mutant it is about within 20 seeds",
        arguments: [
            ("release-race.yaml", Mutant.seedRelease, Invariant.releaseByOwnerOnly),
            ("release-race.yaml", .blindReleaseBroadcast, .broadcastOrder),
            ("pause-past-ttl.yaml", .noFence, .bookingRequiresLiveHold),
            ("hoarder.yaml", .noHoldCap, .capacity),
            ("expiry-storm.yaml", .silentExpiry, .expiryHonoured),
            ("small-race.yaml", .noSeq, .broadcastOrder),
            ("reconnect-resync.yaml", .noSeq, .broadcastOrder),
            ("reconnect-resync.yaml", .skipReplayedChange, .broadcastOrder),
            ("cancel-resale.yaml", .silentCancel, .cancellationVisible),
            ("cancel-resale.yaml", .cancelFreesResold, .broadcastOrder),
        ])
    func raceCatchesItsMutant(file: String, mutant: Mutant, invariant: Invariant) async throws {
        let scenario = try Self.load(file)
        var caught = false
        for seed in 1...20 as ClosedRange<UInt64> where !caught {
            var simulation = scenario.simulation
            simulation.seed = seed
            caught = try await SimRunner.run(simulation, mutant: mutant).violations.contains { $0.invariant == invariant }
        }
        #expect(caught, "\(file) did not catch \(mutant.rawValue) as \(invariant.rawValue)")
    }

    @Test(
        "stale-read catches, within 20 seeds, the mutants only the linearizability check sees",
        arguments: [Mutant.staleSeatMap, .lostRelease, .seqAheadSnapshot])
    func staleReadCatchesItsMutants(mutant: Mutant) async throws {
        let scenario = try Self.load("stale-read.yaml")
        var caught: String?
        for seed in 1...20 as ClosedRange<UInt64> where caught == nil {
            var simulation = scenario.simulation
            simulation.seed = seed
            let outcome = try await SimRunner.run(simulation, mutant: mutant)
            #expect(outcome.violations == [], "\(mutant.rawValue) seed \(seed): an invariant saw it")
            caught = Linearizability.check(outcome.history).violations.first.map { $0.explanation ?? $0.seat }
        }
        #expect(caught != nil, "stale-read did not catch \(mutant.rawValue)")
    }

    @Test("half-seen catches, within 20 seeds, a seat map read in two halves: a multi-seat change seen half done, and only as that")
    func halfSeenCatchesTheTornSeatMap() async throws {
        let scenario = try Self.load("half-seen.yaml")
        var caught: [LinearizabilityReport.SeatResult] = []
        for seed in 1...20 as ClosedRange<UInt64> where caught.isEmpty {
            var simulation = scenario.simulation
            simulation.seed = seed
            caught = Linearizability.check(try await SimRunner.run(simulation, mutant: .tornSeatMap).history).violations
        }
        #expect(!caught.isEmpty, "half-seen did not catch torn-seat-map")
        // Each seat alone showed a state it had while the map was read: only the multi-seat pairs see the lie.
        #expect(caught.allSatisfy { $0.explanation?.contains("a multi-seat operation seen half done") == true }, "\(caught.prefix(2))")
        for seed in 1...5 as ClosedRange<UInt64> {
            var simulation = scenario.simulation
            simulation.seed = seed
            let seats = Linearizability.check(try await SimRunner.run(simulation).history)
            #expect(seats.violations.isEmpty && seats.count(.unknown) == 0, "the reference, seed \(seed): \(seats.violations.prefix(1))")
        }
    }
}
