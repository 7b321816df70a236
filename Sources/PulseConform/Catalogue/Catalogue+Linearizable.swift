import Foundation
import PulseHistory
import PulseScenario

/// PB-SEAT-3: a workload recorded against the target as a history (wire mode), then the
/// linearizability check on it: one order of each seat's operations explains every answer and
/// read, and no read sees a multi-seat change half done.
extension Catalogue {
    static let linearizable: [ConformanceCase] = [
        ConformanceCase(
            "race.linearizable", "PB-SEAT-3",
            "users racing multi-seat holds, releases and checkouts while reading the seat map and the live stream: every seat linearizable, "
                + "no multi-seat change seen half done",
            needs: [.admin, .testControl]
        ) { c in
            // A workload that cannot run to its end (a join never answered, the machine too slow for
            // a deadline) leaves no history to judge: that is some other clause's matter, or none.
            let outcome: WireRunner.Outcome
            do { outcome = try await WireRunner(session: c.session, http: c.http).run(linearizableWorkload) } catch {
                throw CaseInconclusive("the workload did not run to its end, so there is no history to judge: \(error)")
            }
            let report = outcome.linearizability
            c.note(
                "\(outcome.history.count) history records, \(report.seats.count) seats: \(report.counts) "
                    + "(clock skew measured \(outcome.clockSkewNs / 1_000_000) ms)")
            let violated = report.violations
            try c.check(
                violated.isEmpty,
                "\(violated.count) seats no order explains: "
                    + violated.prefix(3).map { "seat \($0.seat): \($0.explanation ?? "") (history lines \($0.lines.prefix(6)))" }
                    .joined(separator: "; "))
            let judged = report.seats.count - report.count(.unknown)
            guard judged > 0 else {
                throw CaseInconclusive("no seat could be judged: \(Set(report.seats.compactMap(\.explanation)).sorted())")
            }
        }.taking(seconds: 180)
    ]

    /// Scenarios/half-seen.yaml's users: two or three seats a hold, a seat-map read before nine
    /// holds in ten, others holding, releasing and buying around them, two subscribers. A map or
    /// snapshot read while a multi-seat change is under way must show it on all its seats or on
    /// none. No faults: the target's own behaviour is what is checked.
    static var linearizableWorkload: SimConfiguration {
        var workload = SimConfiguration(seed: 1)
        (workload.rows, workload.cols) = (2, 10)
        (workload.users, workload.operationsPerUser) = (12, 8)
        (workload.seatsPerHoldMax, workload.hotSpotShare, workload.thinkMsMax) = (3, 0.3, 1_500)
        (workload.checkoutProbability, workload.releaseProbability, workload.extendProbability) = (0.3, 0.5, 0.1)
        (workload.browseProbability, workload.releaseBySeatsShare) = (0.9, 0)
        (workload.holdTTLSeconds, workload.heldSeatsPerUserMax, workload.checkoutLeaseSeconds) = (4, 6, 2)
        (workload.subscribers, workload.subscriberPollMs, workload.sweepIntervalMs) = (2, 50, 200)
        workload.pauseProbability = 0
        return workload
    }
}
