/// The invariant about cancellations as subscribers see them: cancellation-visible.
extension HistoryChecker {
    /// cancellation-visible: a seat is never shown `booked` to a subscriber after its
    /// cancellation's seq, nor free before it, and every subscriber hears of each cancellation.
    ///
    /// 1. A snapshot at seq `s` shows each seat booked or not as the numbered changes up to `s`
    ///    left it: the last `seats_booked` or `seats_released` of the seat at or below `s` (heard
    ///    by any subscriber) decides, when every seq between it and `s` was heard by someone (so
    ///    no unseen change could have decided otherwise; a new generation's seqs never qualify).
    /// 2. For the first cancellation of a booking answered `ok`, every subscriber still listening
    ///    past the grace after that answer was told: a `seats_released` of each of its seats, or a
    ///    snapshot, after the first attempt to cancel it began (troubles on its line push its
    ///    deadline, as for expiries). A deleted event is exempt: its stream ended.
    static func cancellationVisible(_ index: HistoryIndex) -> [Violation] {
        snapshotsAgreeWithChanges(index) + cancellationsHeard(index)
    }

    /// Part 1: per event, every numbered booked-state change heard by anyone, and each snapshot checked against them.
    private static func snapshotsAgreeWithChanges(_ index: HistoryIndex) -> [Violation] {
        var violations: [Violation] = []
        for event in Set(index.observations.values.flatMap(\.keys)).sorted() {
            var heard: Set<Int64> = []
            // seat -> (seq, booked after it, line), sorted by seq below.
            var decisions: [String: [(seq: Int64, booked: Bool, line: Int)]] = [:]
            var snapshots: [HistoryRecord] = []
            for stream in index.observations.values.compactMap({ $0[event] }) {
                for record in stream {
                    guard let seq = record.int("seq") else { continue }
                    switch record.f {
                    case "snapshot": snapshots.append(record)
                    case "seats_booked", "seats_released":
                        if heard.insert(seq).inserted {
                            for seat in record.strings("seats") {
                                decisions[seat, default: []].append((seq, record.f == "seats_booked", record.line))
                            }
                        }
                    case "seat_locked", "seat_released", "event_deleted": heard.insert(seq)
                    default: continue
                    }
                }
            }
            guard !decisions.isEmpty else { continue }
            for seat in decisions.keys { decisions[seat]!.sort { $0.seq < $1.seq } }
            for snapshot in snapshots.sorted(by: { $0.line < $1.line }) {
                let seq = snapshot.int("seq")!
                let booked = Set(snapshot.strings("booked"))
                for (seat, changes) in decisions.sorted(by: { $0.key < $1.key }) {
                    guard let decided = changes.last(where: { $0.seq <= seq }), decided.booked != booked.contains(seat),
                        seq - decided.seq < Int64(heard.count), (decided.seq...seq).allSatisfy(heard.contains)
                    else { continue }
                    let told = decided.booked ? "booked" : "free (cancelled)"
                    violations.append(
                        Violation(
                            invariant: .cancellationVisible, event: event, seat: seat,
                            message:
                                "\(snapshot.process): a snapshot at seq \(seq) shows the seat \(decided.booked ? "free" : "booked"), but seq \(decided.seq) left it \(told)",
                            witnessLines: [decided.line, snapshot.line]))
                }
            }
        }
        return violations
    }

    /// Part 2: every listening subscriber hears of each acknowledged cancellation.
    private static func cancellationsHeard(_ index: HistoryIndex) -> [Violation] {
        var firstAttempt: [String: Int64] = [:]
        for cancel in index.operations where cancel.f == "cancel" && cancel.completion?.type != .fail {
            if let booking = cancel.invoke.string("booking") { firstAttempt[booking] = min(firstAttempt[booking] ?? .max, cancel.startNs) }
        }
        var firstOK: [String: Operation] = [:]
        for cancel in index.ok("cancel") {
            guard let booking = cancel.invoke.string("booking"), cancel.endNs < firstOK[booking]?.endNs ?? .max else { continue }
            firstOK[booking] = cancel
        }
        var violations: [Violation] = []
        for (booking, cancel) in firstOK.sorted(by: { $0.key < $1.key }) {
            let event = cancel.event
            let start = firstAttempt[booking] ?? cancel.startNs
            let deadline = cancel.endNs + index.expiryGraceNs
            for (subscriber, events) in index.observations.sorted(by: { $0.key < $1.key }) {
                guard let stream = events[event], !stream.contains(where: { $0.f == "event_deleted" }),
                    let heardLast = stream.last?.timeNs
                else { continue }
                let ownDeadline = index.deliveryDeadline(of: subscriber, from: cancel.endNs, deadline: deadline)
                guard heardLast >= ownDeadline, stream.contains(where: { $0.timeNs < start }) else { continue }
                for seat in cancel.completion!.strings("seats") {
                    let told = stream.contains { record in
                        record.timeNs >= start && record.timeNs <= ownDeadline
                            && (record.f == "snapshot" || record.f == "seats_released" && record.strings("seats").contains(seat))
                    }
                    if !told {
                        violations.append(
                            Violation(
                                invariant: .cancellationVisible, event: event, seat: seat,
                                message: "\(subscriber) was never told that booking \(booking) was cancelled",
                                witnessLines: cancel.lines))
                    }
                }
            }
        }
        return violations
    }
}
