/// That a multi-seat operation changed all its seats at one instant (HISTORY.md, "Linearizable
/// seats"): the per-seat searches explain each seat on its own, so a hold of A1 and A2 that took A1
/// before a reader looked and A2 after passes them both. Two operations that share two seats must
/// take effect in the same order on both: a change and a multi-seat read (a seat map, a snapshot)
/// that shows it done on one seat and not yet on another, or two changes made at overlapping
/// times. For each such pair the seats are searched again, each with the pair's order imposed,
/// once for each order: when every seat agrees with neither order, no single instant explains the
/// pair and both seats are violated. Imposing one order on a seat only removes explanations, so
/// a seat that cannot agree is a proof; pairs left unchecked or undecided never make a seat `ok`
/// that was not (undecided pairs make theirs `unknown`).
struct MultiSeatCheck {
    /// One operation as it appears on each of its seats.
    struct Shared {
        /// Its position in each seat's list of operations.
        var positions: [String: Int]
        var operation: SeatOperation
        var seats: [String] { positions.keys.sorted() }
    }

    /// A pair of operations whose order every shared seat must agree on.
    struct Pair {
        var first: Shared
        var second: Shared
        /// Seats to try with `first` before `second`, then with `second` before `first`: the
        /// likeliest to refuse first.
        var firstBefore: [String]
        var secondBefore: [String]
    }

    /// The event whose seats these are.
    let event: String
    let seats: [String: [SeatOperation]]
    let skewNs: Int64
    let lossesNs: [Int64]
    let budget: Int
    /// Searches the check may run on one event before the pairs left are undecided.
    let searches: Int

    /// A live message is paired with changes answered up to this long (plus four times the
    /// change's own span) before it arrived.
    static let liveHorizonNs: Int64 = 1_000_000_000

    /// Seat verdicts that replace the per-seat ones: violated seats (with the pair that proves
    /// it) and seats whose pairs were left undecided. `judged` is the per-seat verdicts; seats
    /// already not `ok` are left as they are.
    func run(judged: [String: LinearizabilityReport.Verdict]) -> [String: LinearizabilityReport.SeatResult] {
        let (changes, reads) = sharedOperations(judged: judged)
        var pairs: [Pair] = []
        for change in changes { pairs += readPairs(change, reads) }
        pairs += changePairs(changes)
        var results: [String: LinearizabilityReport.SeatResult] = [:]
        var left = searches
        for pair in pairs {
            // A seat already found violated or undecided here is not judged again (a seat map names
            // every seat: only the seats the pair is about count).
            guard (pair.firstBefore + pair.secondBefore).allSatisfy({ results[$0] == nil }) else { continue }
            let before = agree(pair.first, before: pair.second, on: pair.firstBefore, left: &left)
            if case .yes = before { continue }
            let after = agree(pair.second, before: pair.first, on: pair.secondBefore, left: &left)
            switch (before, after) {
            case (.no(let late), .no(let early)):
                for (seat, result) in violation(pair, early: early, late: late) { results[seat] = result }
            case (.yes, _), (_, .yes):
                continue
            default:
                let explanation =
                    "the multi-seat check could not decide whether \(Linearizability.name(pair.first.operation)) (line \(Self.lines(pair.first))) "
                    + "and \(Linearizability.name(pair.second.operation)) (line \(Self.lines(pair.second))) took effect in one order on all their seats"
                for seat in Set(pair.firstBefore + pair.secondBefore) where results[seat] == nil {
                    results[seat] = .init(
                        event: event, seat: seat, verdict: .unknown, operations: seats[seat]?.count ?? 0, explanation: explanation, lines: [],
                        window: []
                    )
                }
            }
        }
        return results
    }

    private enum Agreement {
        case yes
        /// The seat that has no order with the asked precedence.
        case no(String)
        case unknown
    }

    /// Whether every seat of `order` has an order of its operations with `first` before `second`.
    private func agree(_ first: Shared, before second: Shared, on order: [String], left: inout Int) -> Agreement {
        for seat in order {
            guard left > 0 else { return .unknown }
            left -= 1
            var search = SeatSearch(operations: seats[seat]!, skewNs: skewNs, lossesNs: lossesNs, budget: budget)
            search.precedence = [(first.positions[seat]!, second.positions[seat]!)]
            switch search.run() {
            case .linearizable: continue
            case .violated: return .no(seat)
            case .unknown: return .unknown
            }
        }
        return .yes
    }

    /// Multi-seat changes (answered, one effect, not duplicated) and multi-seat reads (seat maps
    /// and snapshots) of seats whose own search found an order, by when they were answered.
    private func sharedOperations(judged: [String: LinearizabilityReport.Verdict]) -> (changes: [Shared], reads: [Shared]) {
        var byLine: [Int: Shared] = [:]
        var duplicated: Set<Int> = []
        for (seat, operations) in seats.sorted(by: { $0.key < $1.key }) where judged[seat] == .ok {
            for (position, operation) in operations.enumerated() {
                // Only what may pair: an answered change of one known effect, or a seat map or snapshot.
                guard operation.required, operation.effects.count == 1, let line = operation.lines.first,
                    operation.effects[0].isRead ? operation.f == "browse" || operation.f == "snapshot" : Self.states(operation.effects[0]) != nil
                else {
                    // A duplicated request's second copy (never required) shares its line: keep it out.
                    if !operation.required, let line = operation.lines.first, !operation.effects.allSatisfy(\.isRead) { duplicated.insert(line) }
                    continue
                }
                if byLine[line]?.positions[seat] != nil { duplicated.insert(line) }
                byLine[line, default: Shared(positions: [:], operation: operation)].positions[seat] = position
            }
        }
        var changes: [Shared] = []
        var reads: [Shared] = []
        // Every one kept above is a pair candidate: a read (a map or snapshot) or a change.
        for (line, shared) in byLine.sorted(by: { $0.key < $1.key }) where shared.positions.count >= 2 && !duplicated.contains(line) {
            if shared.operation.effects[0].isRead { reads.append(shared) } else { changes.append(shared) }
        }
        return (changes.sorted { $0.operation.invokeNs < $1.operation.invokeNs }, reads.sorted { $0.operation.completeNs < $1.operation.completeNs })
    }

    /// The reads around `change` that show it done on one seat and not on another.
    private func readPairs(_ change: Shared, _ reads: [Shared]) -> [Pair] {
        guard let (before, after) = Self.states(change.operation.effects[0]) else { return [] }
        let span = change.operation.completeNs - change.operation.invokeNs
        let horizon = change.operation.completeNs.addingReportingOverflow(Self.liveHorizonNs + 4 * span).partialValue
        // The first read answered (or received) once the change was asked.
        var low = 0
        var high = reads.count
        while low < high {
            let middle = (low + high) / 2
            if reads[middle].operation.completeNs < change.operation.invokeNs { low = middle + 1 } else { high = middle }
        }
        var start = low
        var pairs: [Pair] = []
        while start < reads.count, reads[start].operation.completeNs <= horizon {
            defer { start += 1 }
            let read = reads[start]
            // A timed read asked after the change was answered must see it everywhere: a seat
            // where it does not is a lie of that seat alone.
            guard read.operation.invokeNs == .min || read.operation.invokeNs <= change.operation.completeNs else { continue }
            var done: [String] = []
            var notDone: [String] = []
            for seat in change.seats where read.positions[seat] != nil {
                guard case .read(let view) = seats[seat]![read.positions[seat]!].effects[0] else { continue }
                let showsBefore = view.matches(before)
                let showsAfter = view.matches(after)
                if showsAfter && !showsBefore { done.append(seat) }
                if showsBefore && !showsAfter { notDone.append(seat) }
            }
            guard !done.isEmpty, !notDone.isEmpty else { continue }
            pairs.append(Pair(first: change, second: read, firstBefore: notDone + done, secondBefore: done + notDone))
        }
        return pairs
    }

    /// Changes made at overlapping times that share two seats or more.
    private func changePairs(_ changes: [Shared]) -> [Pair] {
        var pairs: [Pair] = []
        for (position, first) in changes.enumerated() {
            for second in changes[(position + 1)...] {
                guard second.operation.invokeNs <= first.operation.completeNs else { break }
                let shared = first.seats.filter { second.positions[$0] != nil }
                guard shared.count >= 2 else { continue }
                pairs.append(Pair(first: first, second: second, firstBefore: shared, secondBefore: shared.reversed()))
            }
        }
        return pairs
    }

    /// Both seats of a proven pair, violated, with the sentence and the four operations (each
    /// pair's operation on each of the two seats).
    private func violation(_ pair: Pair, early: String, late: String) -> [String: LinearizabilityReport.SeatResult] {
        let first = "\(Linearizability.name(pair.first.operation)) (line \(Self.lines(pair.first)))"
        let second = "\(Linearizability.name(pair.second.operation)) (line \(Self.lines(pair.second)))"
        let explanation =
            "\(first) must take effect on seat \(early) before \(second) and on seat \(late) after it: "
            + "no single instant changed all its seats (a multi-seat operation seen half done)"
        var window: [LinearizabilityReport.WindowOperation] = []
        for seat in [early, late] {
            for shared in [pair.first, pair.second] {
                // A lane per client and seat: the two seats' bars of one operation do not overlap.
                var drawn = LinearizabilityReport.WindowOperation(seats[seat]![shared.positions[seat]!])
                drawn.process += ", \(seat)"
                window.append(drawn)
            }
        }
        let lines = (pair.first.operation.lines + pair.second.operation.lines).sorted()
        var results: [String: LinearizabilityReport.SeatResult] = [:]
        for seat in [early, late] {
            results[seat] = .init(
                event: event, seat: seat, verdict: .violated, operations: seats[seat]!.count, explanation: explanation, lines: lines, window: window)
        }
        return results
    }

    /// A state before and one after a change, for telling which a read shows.
    static func states(_ effect: SeatEffect) -> (before: SeatState, after: SeatState)? {
        switch effect {
        case .hold(let user, let hold, let expires): (.free, .held(user: user, hold: hold, expiresNs: expires))
        case .release(let user, let hold): (.held(user: user, hold: hold, expiresNs: nil), .free)
        case .checkout(let user, let booking): (.held(user: user, hold: nil, expiresNs: nil), .booked(user: user, booking: booking))
        case .cancel(let booking): (.booked(user: "", booking: booking), .free)
        default: nil
        }
    }

    static func lines(_ shared: Shared) -> String { shared.operation.lines.map(String.init).joined(separator: ", ") }
}
