import Foundation
import PulseReference
import Testing
@testable import PulseSim

@Suite("Scenario files", .timeLimit(.minutes(3)))
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
            ("name: x\nbehaviour:\n  checkout: 1.5\n", ScenarioError(line: 3, field: "behaviour.checkout", problem: "1.5 is not a probability (0...1)")),
            ("description: nameless\n", ScenarioError(line: 1, field: "name", problem: "missing")),
            ("name: x\nchecks: [no-double-booking, telepathy]\n", ScenarioError(line: 2, field: "checks",
                problem: "unknown invariant 'telepathy'; one of \(Invariant.allCases.map(\.rawValue).joined(separator: ", "))")),
            ("name: x\nusers: 12\n", ScenarioError(line: 2, field: "users", problem: "expected a mapping of fields")),
        ]
        for (text, expected) in cases {
            #expect(throws: expected, "\(text)") { try ScenarioParser.parse(text) }
        }
        #expect(throws: ScenarioError.self) { try ScenarioParser.parse("name: [unclosed\n") }
    }

    @Test("a scenario maps onto the simulation; no faults unless it names them")
    func mapping() throws {
        let scenario = try ScenarioParser.parse("name: tiny\nseed: 9\nvenue: { rows: 2, cols: 3 }\nusers: { count: 4 }\nchecks: [capacity]\n")
        #expect(scenario.simulation.seed == 9)
        #expect(scenario.simulation.rows == 2 && scenario.simulation.cols == 3 && scenario.simulation.users == 4)
        #expect(scenario.simulation.pauseProbability == 0)
        #expect(scenario.checks == [.capacity])
        #expect(try Self.load("pause-past-ttl.yaml").simulation.pauseProbability == 0.15)
    }

    @Test("every scenario file parses and, in reduced size, the reference keeps every invariant", arguments: Self.files.map(\.lastPathComponent))
    func scenarioRunsClean(file: String) async throws {
        let scenario = try Self.load(file)
        for seed in 1...3 as ClosedRange<UInt64> {
            var simulation = scenario.simulation
            simulation.seed = seed
            simulation.users = min(simulation.users, 60)
            simulation.operationsPerUser = min(simulation.operationsPerUser, 6)
            let outcome = try await SimRunner.run(simulation)
            #expect(outcome.violations.filter { scenario.checks.contains($0.invariant) } == [], "\(file) seed \(seed)")
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
                if checkouts[(position + 1)...].first(where: { $0.process == record.process && $0.type != .invoke })?.type == .ok { recoveredByRetry += 1 }
            }
        }
        #expect(faults["durable_error", default: 0] > 3 && faults["client_crash", default: 0] > 0, "\(faults)")
        #expect(recoveredByRetry > 0, "some unknown outcomes were settled by a retry with the same key")
    }

    @Test("each named race catches the mutant it is about within 20 seeds", arguments: [
        ("release-race.yaml", Mutant.seedRelease, Invariant.releaseByOwnerOnly),
        ("release-race.yaml", .blindReleaseBroadcast, .broadcastOrder),
        ("pause-past-ttl.yaml", .noFence, .bookingRequiresLiveHold),
        ("hoarder.yaml", .noHoldCap, .capacity),
        ("expiry-storm.yaml", .silentExpiry, .expiryHonoured),
        ("small-race.yaml", .noSeq, .broadcastOrder),
        ("reconnect-resync.yaml", .noSeq, .broadcastOrder),
    ])
    func raceCatchesItsMutant(file: String, mutant: Mutant, invariant: Invariant) async throws {
        let scenario = try Self.load(file)
        var caught = false
        for seed in 1...20 as ClosedRange<UInt64> where !caught {
            var simulation = scenario.simulation
            simulation.seed = seed
            simulation.mutant = mutant
            caught = try await SimRunner.run(simulation).violations.contains { $0.invariant == invariant }
        }
        #expect(caught, "\(file) did not catch \(mutant.rawValue) as \(invariant.rawValue)")
    }
}
