/// The search for one order of one seat's operations that explains every answer and every read
/// (Wing and Gong's algorithm with Lowe's memoisation, as Porcupine runs it): a depth-first
/// search over the operations that may take effect next, remembering every (operations done,
/// state, time) it has already tried. Each operation takes effect at the earliest instant its
/// place allows (never later than its answer): an earlier instant leaves every later choice open.
struct SeatSearch {
    enum Outcome: Sendable {
        case linearizable
        /// No order explains the history: the deepest point the search reached.
        case violated(Stuck)
        /// The search ran out of budget before deciding.
        case unknown
    }

    /// The furthest the search got: which answered operations it had placed, the seat's state
    /// there, and the answered operations none of whose effects could come next.
    struct Stuck: Sendable {
        var placed: Int
        var state: SeatState
        var timeNs: Int64
        var blocked: [Int]
    }

    let operations: [SeatOperation]
    /// How far an expiry may be from its hold's `expiresAt`: the clocks' disagreement.
    let skewNs: Int64
    /// Instants at which every hold may have vanished (the hot state was lost).
    let lossesNs: [Int64]
    /// Frames the search may expand before it answers unknown.
    let budget: Int

    private struct Frame: Hashable {
        var done: BitSet
        var state: SeatState
        var timeNs: Int64
    }

    func run() -> Outcome {
        let required = operations.indices.filter { operations[$0].required }.sorted { operations[$0].completeNs < operations[$1].completeNs }
        let seqReads = operations.indices.filter { operations[$0].seq != nil }.sorted { operations[$0].seq! < operations[$1].seq! }
        // A read of seq s may take effect once every read of a lower seq has.
        var lowerSeqReads = [Int](repeating: 0, count: operations.count)
        for (position, index) in seqReads.enumerated() {
            lowerSeqReads[index] =
                position > 0 && operations[seqReads[position - 1]].seq == operations[index].seq
                ? lowerSeqReads[seqReads[position - 1]] : position
        }
        var groups: [Int: [Int]] = [:]
        for index in operations.indices { if let group = operations[index].bookingGroup { groups[group, default: []].append(index) } }
        let context = Context(
            operations: operations, skewNs: skewNs, lossesNs: lossesNs.sorted(), required: required, seqReads: seqReads,
            lowerSeqReads: lowerSeqReads, groups: groups)

        var seen = Set<Frame>()
        var stack = [Frame(done: BitSet(count: operations.count), state: .free, timeNs: .min)]
        var deepest = Stuck(placed: -1, state: .free, timeNs: .min, blocked: [])
        var expanded = 0
        while var frame = stack.popLast() {
            context.placeReads(&frame)
            guard seen.insert(frame).inserted else { continue }
            expanded += 1
            if expanded > budget { return .unknown }
            if context.isDead(frame) { continue }
            let placed = required.count { frame.done[$0] }
            if placed == required.count { return .linearizable }
            let next = context.successors(of: frame)
            if placed > deepest.placed {
                let blocked = required.filter { !frame.done[$0] }.prefix(3)
                deepest = Stuck(placed: placed, state: frame.state, timeNs: frame.timeNs, blocked: Array(blocked))
            }
            stack.append(contentsOf: next.reversed())
        }
        return .violated(deepest)
    }

    private struct Context {
        let operations: [SeatOperation]
        let skewNs: Int64
        let lossesNs: [Int64]
        let required: [Int]
        let seqReads: [Int]
        let lowerSeqReads: [Int]
        let groups: [Int: [Int]]

        /// Whether a hold in `state` has surely lapsed by `timeNs`: nothing may then take effect
        /// before its expiry does.
        func mustExpire(_ state: SeatState, at timeNs: Int64, lag: Int64 = 0) -> Bool {
            guard case .held(_, _, let expires?) = state, lag != .max else { return false }
            let (deadline, overflow) = expires.addingReportingOverflow(skewNs)
            return !overflow && timeNs.subtractingReportingOverflow(lag).partialValue >= deadline
        }

        /// Whether an answered operation can no longer take effect in time.
        func isDead(_ frame: Frame) -> Bool {
            for index in required where !frame.done[index] {
                return operations[index].completeNs < frame.timeNs
            }
            return false
        }

        /// How many reads, in seq order, have all taken effect.
        func seqReadsDone(_ frame: Frame) -> Int {
            var count = 0
            while count < seqReads.count, frame.done[seqReads[count]] { count += 1 }
            return count
        }

        /// Places at once every read that may take effect now and agrees with the state: it
        /// changes nothing and moves no clock, so placing it later could only close doors.
        func placeReads(_ frame: inout Frame) {
            var changed = true
            while changed {
                changed = false
                let seqDone = seqReadsDone(frame)
                for (index, operation) in operations.enumerated() where !frame.done[index] && operation.invokeNs <= frame.timeNs {
                    guard case .read(let view) = operation.effects[0], operation.effects.count == 1, view.matches(frame.state),
                        operation.completeNs >= frame.timeNs, operation.seq == nil || lowerSeqReads[index] <= seqDone,
                        !mustExpire(frame.state, at: frame.timeNs, lag: operation.clockLagNs)
                    else { continue }
                    frame.done[index] = true
                    changed = true
                }
            }
        }

        func successors(of frame: Frame) -> [Frame] {
            var next: [Frame] = []
            let seqDone = seqReadsDone(frame)
            for (index, operation) in operations.enumerated() where !frame.done[index] {
                let at = max(frame.timeNs, operation.invokeNs)
                guard at <= operation.completeNs, operation.seq == nil || lowerSeqReads[index] <= seqDone,
                    !mustExpire(frame.state, at: at, lag: operation.clockLagNs)
                else { continue }
                var done = frame.done
                done[index] = true
                for effect in operation.effects {
                    for state in apply(effect, to: frame.state, group: operation.bookingGroup, done: frame.done) {
                        next.append(Frame(done: done, state: state, timeNs: at))
                    }
                }
            }
            if case .held(_, _, let expires) = frame.state {
                // The hold lapses: at the start of its expiry window, or at once when no expiry is known.
                let at = max(frame.timeNs, expires.map { $0.subtractingReportingOverflow(skewNs).partialValue } ?? frame.timeNs)
                next.append(Frame(done: frame.done, state: .free, timeNs: at))
                // Or the hot state is lost with it.
                if let loss = lossesNs.first(where: { $0.addingReportingOverflow(skewNs).partialValue >= frame.timeNs }) {
                    next.append(Frame(done: frame.done, state: .free, timeNs: max(frame.timeNs, loss)))
                }
            }
            return next
        }

        /// The states `effect` may leave `state` in (none: it cannot take effect there).
        func apply(_ effect: SeatEffect, to state: SeatState, group: Int?, done: BitSet) -> [SeatState] {
            switch (effect, state) {
            case (.read(let view), _):
                return view.matches(state) ? [state] : []
            case (.hold(let user, let hold, let expires), .free):
                return [.held(user: user, hold: hold, expiresNs: expires)]
            case (.release(let user, let hold), .held(let holder, let held, _)):
                return holder == user && (hold == nil || held == nil || hold == held) ? [.free] : []
            case (.extend(let hold, let expires), .held(let holder, let held, _)):
                return held == nil || held == hold ? [.held(user: holder, hold: held, expiresNs: expires)] : []
            case (.checkout(let user, let booking), _):
                if let group, groups[group, default: []].contains(where: { done[$0] }) { return [state] }  // a replay
                guard case .held(let holder, _, _) = state, holder == user else { return [] }
                return [.booked(user: user, booking: booking)]
            case (.checkoutAcrossLoss(let user, let booking), _):
                if let group, groups[group, default: []].contains(where: { done[$0] }) { return [state] }  // a replay
                if case .booked = state { return [] }
                return [.booked(user: user, booking: booking)]
            case (.abandon(let user), .held(let holder, _, _)):
                return holder == user ? [.free] : []
            case (.cancel(let booking), .booked(_, let booked)):
                if booked == booking { return [.free] }
                return booked == nil ? [.free, state] : [state]
            case (.cancel, _):
                return [state]
            default:
                return []
            }
        }
    }
}

/// A fixed-size set of small integers.
struct BitSet: Hashable, Sendable {
    private var words: [UInt64]

    init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    subscript(index: Int) -> Bool {
        get { words[index >> 6] & (1 << UInt64(index & 63)) != 0 }
        set {
            if newValue { words[index >> 6] |= 1 << UInt64(index & 63) } else { words[index >> 6] &= ~(1 << UInt64(index & 63)) }
        }
    }
}
