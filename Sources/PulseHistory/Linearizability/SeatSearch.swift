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

    /// The furthest the search got: how many answered operations it had placed, the seat's state
    /// there, and the first answered operations (by answer) it could place no further.
    struct Stuck: Sendable {
        var placed: Int
        var state: SeatState
        var blocked: [SeatOperation]
    }

    let operations: [SeatOperation]
    /// How far an expiry may be from its hold's `expiresAt`: the clocks' disagreement.
    let skewNs: Int64
    /// Instants at which every hold may have vanished (the hot state was lost).
    let lossesNs: [Int64]
    /// Frames the search may expand before it answers unknown.
    let budget: Int
    /// Pairs of positions in `operations`: the second may take effect only after the first (the
    /// order of two multi-seat operations that the multi-seat check asks this seat to agree with).
    var precedence: [(before: Int, after: Int)] = []

    /// A point of the search: what has taken effect, the seat's state, and the instant reached.
    /// The three positions are derived from those (kept so that no frame rescans what is behind
    /// it) and so do not change which frames are the same.
    private struct Frame: Hashable {
        var done: BitSet
        var state: SeatState
        var timeNs: Int64
        /// Reads in seq order before this position have all taken effect.
        var seqDone = 0
        /// Timed operations (in request order) before this position are done or can no longer be.
        var timedStart: Int
        /// Answered operations (in answer order) before this position are done.
        var requiredStart = 0
        /// How many answered operations are done.
        var placed = 0

        /// Leaves out `done`, whose words grow with the seat's operations: frames that agree on
        /// the rest are few, and equality still compares every field.
        func hash(into hasher: inout Hasher) {
            hasher.combine(state)
            hasher.combine(timeNs)
            hasher.combine(placed)
            hasher.combine(requiredStart)
            hasher.combine(timedStart)
        }
    }

    func run() -> Outcome {
        let context = Context(self)
        var seen = Set<Frame>()
        var first = Frame(done: BitSet(count: operations.count), state: .free, timeNs: .min, timedStart: context.liveCount)
        context.normalize(&first)
        var stack = [first]
        var deepest = Stuck(placed: -1, state: .free, blocked: [])
        var expanded = 0
        while var frame = stack.popLast() {
            context.placeReads(&frame)
            guard seen.insert(frame).inserted else { continue }
            expanded += 1
            if expanded > budget { return .unknown }
            if context.isDead(frame) { continue }
            if frame.requiredStart == context.required.count { return .linearizable }
            if frame.placed > deepest.placed {
                let blocked = context.required[frame.requiredStart...].lazy.filter { !frame.done[$0] }.prefix(3).map { context.operations[$0] }
                deepest = Stuck(placed: frame.placed, state: frame.state, blocked: Array(blocked))
            }
            stack.append(contentsOf: context.successors(of: frame).reversed())
        }
        return .violated(deepest)
    }

    private struct Context {
        /// Live messages first (no lower bound in time, so they never move the clock: each takes
        /// effect as soon as its seq comes and the state agrees), by seq; then every other
        /// operation by its request.
        let operations: [SeatOperation]
        let liveCount: Int
        let skewNs: Int64
        let lossesNs: [Int64]
        /// The answered operations (and reads) by answer: each must take effect by its answer.
        let required: [Int]
        /// Every read with a seq, by seq, and for each the reads of lower seqs before it.
        let seqReads: [Int]
        let lowerSeqReads: [Int]
        /// Operations of one booking (one Idempotency-Key).
        let groups: [Int: [Int]]
        /// For each operation, those that must take effect before it (``SeatSearch/precedence``).
        let waitsFor: [[Int]]

        init(_ search: SeatSearch) {
            let all = search.operations
            let isLive = { (operation: SeatOperation) in operation.invokeNs == .min && operation.seq != nil && operation.effects.allSatisfy(\.isRead)
            }
            let live = all.indices.filter { isLive(all[$0]) }.sorted { all[$0].seq! < all[$1].seq! }
            let timed = all.indices.filter { !isLive(all[$0]) }.sorted { all[$0].invokeNs < all[$1].invokeNs }
            let order = live + timed
            let ordered = order.map { all[$0] }
            var position = [Int](repeating: 0, count: order.count)
            for (place, original) in order.enumerated() { position[original] = place }
            var waitsFor = [[Int]](repeating: [], count: order.count)
            for pair in search.precedence { waitsFor[position[pair.after]].append(position[pair.before]) }
            self.waitsFor = waitsFor
            let seqReads = ordered.indices.filter { ordered[$0].seq != nil }.sorted { ordered[$0].seq! < ordered[$1].seq! }
            var lower = [Int](repeating: 0, count: ordered.count)
            for (position, index) in seqReads.enumerated() {
                lower[index] = position > 0 && ordered[seqReads[position - 1]].seq == ordered[index].seq ? lower[seqReads[position - 1]] : position
            }
            var groups: [Int: [Int]] = [:]
            for index in ordered.indices { if let group = ordered[index].bookingGroup { groups[group, default: []].append(index) } }
            operations = ordered
            liveCount = live.count
            skewNs = search.skewNs
            lossesNs = search.lossesNs.sorted()
            required = ordered.indices.filter { ordered[$0].required }.sorted { ordered[$0].completeNs < ordered[$1].completeNs }
            self.seqReads = seqReads
            lowerSeqReads = lower
            self.groups = groups
        }

        /// Whether a hold in `state` has surely lapsed by `timeNs` as seen by an operation whose
        /// clock may be `lag` behind: nothing may then take effect before its expiry does.
        func mustExpire(_ state: SeatState, at timeNs: Int64, lag: Int64 = 0) -> Bool {
            guard case .held(_, _, let expires?) = state, lag != .max else { return false }
            let (deadline, overflow) = expires.addingReportingOverflow(skewNs)
            return !overflow && timeNs.subtractingReportingOverflow(lag).partialValue >= deadline
        }

        /// Moves the frame's positions past what is done (and, for timed operations, past what
        /// can no longer take effect).
        func normalize(_ frame: inout Frame) {
            while frame.seqDone < seqReads.count, frame.done[seqReads[frame.seqDone]] { frame.seqDone += 1 }
            while frame.requiredStart < required.count, frame.done[required[frame.requiredStart]] { frame.requiredStart += 1 }
            while frame.timedStart < operations.count,
                frame.done[frame.timedStart] || operations[frame.timedStart].completeNs < frame.timeNs
            {
                frame.timedStart += 1
            }
        }

        /// Whether an answered operation can no longer take effect in time.
        func isDead(_ frame: Frame) -> Bool {
            frame.requiredStart < required.count && operations[required[frame.requiredStart]].completeNs < frame.timeNs
        }

        /// Whether `index` may take effect now as far as seq order and the asked precedence go.
        func seqAllows(_ index: Int, _ frame: Frame) -> Bool {
            (operations[index].seq == nil || lowerSeqReads[index] <= frame.seqDone) && waitsFor[index].allSatisfy { frame.done[$0] }
        }

        /// Whether `index` is a read that may take effect at the frame's instant, moving no clock.
        func readFits(_ index: Int, _ frame: Frame) -> Bool {
            // Fields read in place: a copy of the operation would retain its arrays and strings.
            guard !frame.done[index], operations[index].effects.count == 1, case .read(let view) = operations[index].effects[0] else { return false }
            return operations[index].invokeNs <= frame.timeNs && operations[index].completeNs >= frame.timeNs && view.matches(frame.state)
                && seqAllows(index, frame) && !mustExpire(frame.state, at: frame.timeNs, lag: operations[index].clockLagNs)
        }

        /// Places at once every read that may take effect now and agrees with the state: it
        /// changes nothing and moves no clock, so placing it later could only close doors.
        /// Reads never wait for reads of the other kind (a read's precedence, if any, is on a
        /// change), so the reads with a seq are placed until none fits, then the others in one pass.
        func placeReads(_ frame: inout Frame) {
            var changed = true
            while changed {
                changed = false
                // The reads of the next seq.
                var position = frame.seqDone
                while position < seqReads.count, lowerSeqReads[seqReads[position]] <= frame.seqDone {
                    if readFits(seqReads[position], frame) {
                        frame.done[seqReads[position]] = true
                        frame.placed += operations[seqReads[position]].required ? 1 : 0
                        changed = true
                    }
                    position += 1
                }
                if changed { normalize(&frame) }
            }
            // Reads without a seq, requested by now.
            var index = frame.timedStart
            while index < operations.count, operations[index].invokeNs <= frame.timeNs {
                if operations[index].seq == nil, readFits(index, frame) {
                    frame.done[index] = true
                    frame.placed += operations[index].required ? 1 : 0
                    changed = true
                }
                index += 1
            }
            if changed { normalize(&frame) }
        }

        func successors(of frame: Frame) -> [Frame] {
            var next: [Frame] = []
            // Whatever takes effect next does so before the earliest answer still owed.
            let owed = frame.requiredStart < required.count ? operations[required[frame.requiredStart]].completeNs : .max
            var index = frame.timedStart
            while index < operations.count, operations[index].invokeNs <= owed {
                defer { index += 1 }
                let at = max(frame.timeNs, operations[index].invokeNs)
                guard !frame.done[index], at <= operations[index].completeNs, seqAllows(index, frame),
                    !mustExpire(frame.state, at: at, lag: operations[index].clockLagNs)
                else { continue }
                var done = frame.done
                done[index] = true
                for effect in operations[index].effects {
                    for state in apply(effect, to: frame.state, group: operations[index].bookingGroup, done: frame.done) {
                        var successor = Frame(
                            done: done, state: state, timeNs: at, seqDone: frame.seqDone, timedStart: frame.timedStart,
                            requiredStart: frame.requiredStart, placed: frame.placed + (operations[index].required ? 1 : 0))
                        normalize(&successor)
                        next.append(successor)
                    }
                }
            }
            if case .held(_, _, let expires) = frame.state {
                // The hold lapses: at the start of its expiry window, or at once when no expiry is known.
                let at = max(frame.timeNs, expires.map { $0.subtractingReportingOverflow(skewNs).partialValue } ?? frame.timeNs)
                var lapsed = frame
                lapsed.state = .free
                lapsed.timeNs = at
                normalize(&lapsed)
                next.append(lapsed)
                // Or the hot state is lost with it.
                if let loss = lossesNs.first(where: { $0.addingReportingOverflow(skewNs).partialValue >= frame.timeNs }) {
                    var lost = frame
                    lost.state = .free
                    lost.timeNs = max(frame.timeNs, loss)
                    normalize(&lost)
                    next.append(lost)
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
            case (.freeze(let user), .held(let holder, let held, _)):
                return holder == user ? [.held(user: holder, hold: held, expiresNs: nil)] : []
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
