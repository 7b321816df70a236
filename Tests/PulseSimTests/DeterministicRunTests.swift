import PulseHistory
import PulseScenario
import Testing

@testable import PulseSim

@Suite("Deterministic simulation of the reference engine", .timeLimit(.minutes(10)))
struct DeterministicRunTests {
    @Test("the same seed gives a byte-identical history; another seed a different one")
    func sameSeedSameHistory() async throws {
        let first = try await SimRunner.run(SimConfiguration(seed: 42))
        let again = try await SimRunner.run(SimConfiguration(seed: 42))
        let other = try await SimRunner.run(SimConfiguration(seed: 43))
        let text = { (outcome: SimRunner.Outcome) in outcome.history.map(HistoryReader.encode).joined(separator: "\n") }
        #expect(text(first) == text(again))
        #expect(first.steps == again.steps)
        #expect(text(first) != text(other))
    }

    @Test("the reference engine keeps every invariant over many seeds, under real contention", arguments: 1...12)
    func referenceKeepsInvariants(seed: UInt64) async throws {
        let outcome = try await SimRunner.run(SimConfiguration(seed: seed))
        #expect(outcome.violations == [], "seed \(seed): \(outcome.violations.prefix(3))")
        let history = outcome.history
        let grantedHolds = history.filter { $0.type == .ok && $0.f == "hold" }.count
        let refusedHolds = history.filter { $0.type == .fail && $0.f == "hold" }.count
        let bookings = history.filter { $0.type == .ok && $0.f == "checkout" }.count
        let expiries = history.filter { $0.f == "seat_released" && $0.string("reason") == "expired" }.count
        #expect(
            grantedHolds > 10 && refusedHolds > 5 && bookings > 3,
            "the run exercised the engine: \(grantedHolds) holds, \(refusedHolds) refusals, \(bookings) bookings")
        #expect(expiries > 0, "abandoned holds expired and were broadcast")
    }
}
