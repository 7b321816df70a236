import Foundation
import Synchronization

/// Per-seat linearizability: does one order of each seat's operations, each taking effect at one
/// instant between its request and its answer, explain every answer and every read the history
/// shows (HISTORY.md, "Linearizable seats")?
public enum Linearizability {
    /// Checks every seat of `index`, seats in parallel. `skewNs` is how far a hold's expiry may
    /// be from its `expires_at_ns` (the server's clock against the history's: zero in the
    /// simulator; the larger of it and the history's own `clock_skew_ns` is used); `budget`
    /// bounds the frames each seat's search may expand before its verdict is `unknown`. Never
    /// throws; the result is in (event, seat) order whatever the parallelism.
    public static func check(_ index: HistoryIndex, skewNs: Int64 = 0, budget: Int = 200_000) -> LinearizabilityReport {
        let skewNs = max(skewNs, index.clockSkewNs)
        let histories = SeatHistories(index)
        let seats = histories.seats.flatMap { event, seats in seats.map { (event: event, seat: $0.key, operations: $0.value) } }
            .sorted { ($0.event, $0.seat) < ($1.event, $1.seat) }
        let results = Mutex([LinearizabilityReport.SeatResult?](repeating: nil, count: seats.count))
        DispatchQueue.concurrentPerform(iterations: seats.count) { position in
            let (event, seat, operations) = seats[position]
            let result: LinearizabilityReport.SeatResult
            if let reason = histories.unjudged[event] {
                result = .init(event: event, seat: seat, verdict: .unknown, operations: operations.count, explanation: reason, lines: [], window: [])
            } else {
                let search = SeatSearch(operations: operations, skewNs: skewNs, lossesNs: histories.lossesNs, budget: budget)
                result = judge(
                    search.run(), event: event, seat: seat, operations: operations, skewNs: skewNs, lossesNs: histories.lossesNs, budget: budget)
            }
            results.withLock { $0[position] = result }
        }
        var judged = results.withLock { $0.compactMap(\.self) }
        multiSeat(histories, &judged, skewNs: skewNs, budget: budget)
        return LinearizabilityReport(seats: judged)
    }

    /// Checks that each multi-seat operation changed all its seats at one instant (``MultiSeatCheck``),
    /// events in parallel, and puts what it finds in place of the per-seat verdicts.
    private static func multiSeat(_ histories: SeatHistories, _ judged: inout [LinearizabilityReport.SeatResult], skewNs: Int64, budget: Int) {
        let events = histories.seats.keys.filter { histories.unjudged[$0] == nil }.sorted()
        var verdictsOfEvents: [String: [String: LinearizabilityReport.Verdict]] = [:]
        var positions: [String: [String: Int]] = [:]
        for (position, result) in judged.enumerated() {
            verdictsOfEvents[result.event, default: [:]][result.seat] = result.verdict
            positions[result.event, default: [:]][result.seat] = position
        }
        let verdicts = verdictsOfEvents
        let found = Mutex([[String: LinearizabilityReport.SeatResult]](repeating: [:], count: events.count))
        DispatchQueue.concurrentPerform(iterations: events.count) { position in
            let seats = histories.seats[events[position]] ?? [:]
            let changes = seats.values.reduce(0) { $0 + $1.count { !$0.effects.allSatisfy(\.isRead) } }
            let check = MultiSeatCheck(
                event: events[position], seats: seats, skewNs: skewNs, lossesNs: histories.lossesNs, budget: budget, searches: 400 + 4 * changes)
            let results = check.run(judged: verdicts[events[position]] ?? [:])
            found.withLock { $0[position] = results }
        }
        for (position, results) in found.withLock({ $0 }).enumerated() {
            for (seat, result) in results {
                guard let index = positions[events[position]]?[seat] else { continue }
                judged[index] = result
            }
        }
    }

    /// Reads and checks a whole history (JSON Lines records).
    public static func check(_ records: [HistoryRecord], skewNs: Int64 = 0, budget: Int = 200_000) -> LinearizabilityReport {
        check(HistoryIndex(records), skewNs: skewNs, budget: budget)
    }

    private static func judge(
        _ outcome: SeatSearch.Outcome, event: String, seat: String, operations: [SeatOperation], skewNs: Int64, lossesNs: [Int64], budget: Int
    ) -> LinearizabilityReport.SeatResult {
        switch outcome {
        case .linearizable:
            return .init(event: event, seat: seat, verdict: .ok, operations: operations.count, explanation: nil, lines: [], window: [])
        case .unknown:
            return .init(
                event: event, seat: seat, verdict: .unknown, operations: operations.count,
                explanation: "the search ran out of its budget before finding an order or proving there is none", lines: [], window: [])
        case .violated:
            let (window, stuck) = smallestContradiction(operations, skewNs: skewNs, lossesNs: lossesNs, budget: budget)
            let blocked = stuck.blocked
            let first = blocked.first.map { "\(name($0)) (line \($0.lines.map(String.init).joined(separator: ", ")))" } ?? "the next operation"
            let needs = blocked.first.map { " needs it \(describe($0.effects[0]))" } ?? ""
            let explanation =
                "no order of the seat's operations explains the history: \(first)\(needs), but every order of the "
                + "\(stuck.placed) answered operations that must come before it leaves the seat \(describe(stuck.state))"
            return .init(
                event: event, seat: seat, verdict: .violated, operations: operations.count, explanation: explanation,
                lines: blocked.flatMap(\.lines).sorted(), window: window.map(LinearizabilityReport.WindowOperation.init))
        }
    }

    /// The seat's operations with every read left out that the contradiction does not need
    /// (leaving out a read never makes a history harder to explain, so what remains is still
    /// unexplained), and where the search got stuck on them.
    static func smallestContradiction(_ operations: [SeatOperation], skewNs: Int64, lossesNs: [Int64], budget: Int)
        -> (window: [SeatOperation], stuck: SeatSearch.Stuck)
    {
        func stuck(_ operations: [SeatOperation]) -> SeatSearch.Stuck? {
            if case .violated(let stuck) = SeatSearch(operations: operations, skewNs: skewNs, lossesNs: lossesNs, budget: budget).run() {
                stuck
            } else {
                nil
            }
        }
        var window = operations
        var last = stuck(window)!
        // One search per read, so only for seats of a few hundred operations.
        guard window.count <= 400 else { return (window, last) }
        for position in window.indices.reversed() where window[position].effects.allSatisfy(\.isRead) {
            var without = window
            without.remove(at: position)
            if let found = stuck(without) {
                window = without
                last = found
            }
        }
        return (window, last)
    }

    static func name(_ operation: SeatOperation) -> String {
        operation.effects.allSatisfy(\.isRead) ? "what \(operation.process) was shown by \(operation.f)" : "\(operation.f) of \(operation.process)"
    }

    /// What an effect needs the seat to be.
    static func describe(_ effect: SeatEffect) -> String {
        switch effect {
        case .read(let view):
            switch view {
            case .free: "free"
            case .taken: "held or booked"
            case .heldBy(let user): "held by \(user)"
            case .booked: "booked"
            case .bookedAs(let booking): "booked as \(booking)"
            case .notBooked: "not booked"
            }
        case .hold: "free"
        case .release(let user, _), .freeze(let user), .checkout(let user, _): "held by \(user)"
        case .extend(let hold, _): "held under hold \(hold)"
        case .checkoutAcrossLoss: "not booked"
        case .cancel(let booking): "booked as \(booking)"
        }
    }

    static func describe(_ state: SeatState) -> String {
        switch state {
        case .free: "free"
        case .held(let user, let hold, _): "held by \(user)" + (hold.map { " (hold \($0))" } ?? "")
        case .booked(let user, let booking): "booked by \(user)" + (booking.map { " (booking \($0))" } ?? "")
        }
    }
}

/// The verdict of the linearizability check on each seat of a history.
public struct LinearizabilityReport: Sendable {
    public enum Verdict: String, Sendable, CaseIterable {
        case ok, violated, unknown
    }

    /// One seat's verdict, with why when it is not `ok`.
    public struct SeatResult: Sendable {
        public var event: String
        public var seat: String
        public var verdict: Verdict
        /// The seat's operations and reads the search ordered.
        public var operations: Int
        public var explanation: String?
        /// History lines of the operations that no order could place.
        public var lines: [Int]
        /// For a violated seat, the operations of the contradiction: every change of the seat
        /// and the reads it needs.
        public var window: [WindowOperation]
    }

    /// One operation of a contradiction, as the picture draws it.
    public struct WindowOperation: Sendable {
        public var process: String
        public var f: String
        /// What it did or read: `hold`, `read held by u3`...
        public var label: String
        /// Its interval; nil where unbounded (a live message's start, an unanswered end).
        public var invokeNs: Int64?
        public var completeNs: Int64?
        /// Whether it surely took effect (answered `ok`, or a read).
        public var answered: Bool
        public var lines: [Int]

        init(_ operation: SeatOperation) {
            process = operation.process
            f = operation.f
            label =
                operation.effects.count == 1 && operation.effects[0].isRead
                ? "shown \(Linearizability.describe(operation.effects[0]))" : operation.f + (operation.required ? "" : " (unanswered)")
            invokeNs = operation.invokeNs == .min ? nil : operation.invokeNs
            completeNs = operation.completeNs == .max ? nil : operation.completeNs
            answered = operation.required
            lines = operation.lines
        }
    }

    /// Every seat the history names, in (event, seat) order.
    public var seats: [SeatResult]

    public func count(_ verdict: Verdict) -> Int { seats.count { $0.verdict == verdict } }
    /// The seats per verdict, for people: "40 ok, 1 violated, 0 unknown".
    public var counts: String { Verdict.allCases.map { "\(count($0)) \($0.rawValue)" }.joined(separator: ", ") }

    /// The seats that are not linearizable.
    public var violations: [SeatResult] { seats.filter { $0.verdict == .violated } }
}
