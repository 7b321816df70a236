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
    fileprivate struct Frame: Hashable {
        var done: BitSet
        var state: PackedState
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
        var deepest: Frame?
        var expanded = 0
        while var frame = stack.popLast() {
            context.placeReads(&frame)
            guard seen.insert(frame).inserted else { continue }
            expanded += 1
            if expanded > budget { return .unknown }
            if context.isDead(frame) { continue }
            if frame.requiredStart == context.required.count { return .linearizable }
            if frame.placed > deepest?.placed ?? -1 { deepest = frame }
            let base = stack.count
            context.appendSuccessors(of: frame, to: &stack)
            stack[base...].reverse()
        }
        return .violated(deepest.map(context.stuck) ?? Stuck(placed: -1, state: .free, blocked: []))
    }

    /// The operations of one seat as flat arrays of numbers, in the order the search walks them.
    fileprivate struct Context {
        /// Live messages first (no lower bound in time, so they never move the clock: each takes
        /// effect as soon as its seq comes and the state agrees), by seq; then every other
        /// operation by its request.
        let operations: [SeatOperation]
        let liveCount: Int
        let skewNs: Int64
        let lossesNs: [Int64]
        let names: PackedNames
        // Each operation's fields, read in place (a copy of an operation would retain its arrays
        // and strings).
        let invokeNs: [Int64]
        let completeNs: [Int64]
        let isRequired: [Bool]
        let seq: [Int64?]
        let clockLagNs: [Int64]
        /// The operation's only effect when it is a read.
        let onlyRead: [PackedView?]
        /// Each operation's effects: `effects[effectRanges[i]]`.
        let effects: [PackedEffect]
        let effectRanges: [Range<Int>]
        /// The operations of each one's booking (one Idempotency-Key): `groupMembers[groupRanges[i]]`.
        let groupMembers: [Int]
        let groupRanges: [Range<Int>]
        /// For each operation, those that must take effect before it (``SeatSearch/precedence``):
        /// `waits[waitRanges[i]]`.
        let waits: [Int]
        let waitRanges: [Range<Int>]
        /// The answered operations (and reads) by answer: each must take effect by its answer.
        let required: [Int]
        /// Every read with a seq, by seq, and for each the reads of lower seqs before it.
        let seqReads: [Int]
        let lowerSeqReads: [Int]

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
            (waits, waitRanges) = Self.flatten(waitsFor)
            let seqReads = ordered.indices.filter { ordered[$0].seq != nil }.sorted { ordered[$0].seq! < ordered[$1].seq! }
            var lower = [Int](repeating: 0, count: ordered.count)
            for (position, index) in seqReads.enumerated() {
                lower[index] = position > 0 && ordered[seqReads[position - 1]].seq == ordered[index].seq ? lower[seqReads[position - 1]] : position
            }
            var groups: [Int: [Int]] = [:]
            for index in ordered.indices { if let group = ordered[index].bookingGroup { groups[group, default: []].append(index) } }
            (groupMembers, groupRanges) = Self.flatten(ordered.map { operation in operation.bookingGroup.map { groups[$0]! } ?? [] })
            var names = PackedNames()
            var effects: [PackedEffect] = []
            var effectRanges: [Range<Int>] = []
            for operation in ordered {
                let start = effects.count
                for effect in operation.effects { effects.append(names.pack(effect)) }
                effectRanges.append(start..<effects.count)
            }
            self.effects = effects
            self.effectRanges = effectRanges
            onlyRead = ordered.indices.map { index in
                guard effectRanges[index].count == 1, case .read(let view) = effects[effectRanges[index].lowerBound] else { return nil }
                return view
            }
            self.names = names
            operations = ordered
            invokeNs = ordered.map(\.invokeNs)
            completeNs = ordered.map(\.completeNs)
            isRequired = ordered.map(\.required)
            seq = ordered.map(\.seq)
            clockLagNs = ordered.map(\.clockLagNs)
            liveCount = live.count
            skewNs = search.skewNs
            lossesNs = search.lossesNs.sorted()
            required = ordered.indices.filter { ordered[$0].required }.sorted { ordered[$0].completeNs < ordered[$1].completeNs }
            self.seqReads = seqReads
            lowerSeqReads = lower
        }

        private static func flatten(_ lists: [[Int]]) -> ([Int], [Range<Int>]) {
            var flat: [Int] = []
            var ranges: [Range<Int>] = []
            for list in lists {
                ranges.append(flat.count..<flat.count + list.count)
                flat += list
            }
            return (flat, ranges)
        }

        /// Where the search got furthest, with its names back.
        func stuck(_ frame: Frame) -> Stuck {
            let blocked = required[frame.requiredStart...].lazy.filter { !frame.done[$0] }.prefix(3).map { operations[$0] }
            return Stuck(placed: frame.placed, state: names.unpack(frame.state), blocked: Array(blocked))
        }

        /// Whether a hold in `state` has surely lapsed by `timeNs` as seen by an operation whose
        /// clock may be `lag` behind: nothing may then take effect before its expiry does.
        func mustExpire(_ state: PackedState, at timeNs: Int64, lag: Int64 = 0) -> Bool {
            guard state.kind == .held, let expires = state.expiresNs, lag != .max else { return false }
            let (deadline, overflow) = expires.addingReportingOverflow(skewNs)
            return !overflow && timeNs.subtractingReportingOverflow(lag).partialValue >= deadline
        }

        /// Moves the frame's positions past what is done (and, for timed operations, past what
        /// can no longer take effect).
        func normalize(_ frame: inout Frame) {
            while frame.seqDone < seqReads.count, frame.done[seqReads[frame.seqDone]] { frame.seqDone += 1 }
            while frame.requiredStart < required.count, frame.done[required[frame.requiredStart]] { frame.requiredStart += 1 }
            while frame.timedStart < operations.count, frame.done[frame.timedStart] || completeNs[frame.timedStart] < frame.timeNs {
                frame.timedStart += 1
            }
        }

        /// Whether an answered operation can no longer take effect in time.
        func isDead(_ frame: Frame) -> Bool {
            frame.requiredStart < required.count && completeNs[required[frame.requiredStart]] < frame.timeNs
        }

        /// Whether `index` may take effect now as far as seq order and the asked precedence go.
        func seqAllows(_ index: Int, _ frame: Frame) -> Bool {
            (seq[index] == nil || lowerSeqReads[index] <= frame.seqDone) && waitRanges[index].allSatisfy { frame.done[waits[$0]] }
        }

        /// Whether `index` is a read that may take effect at the frame's instant, moving no clock.
        func readFits(_ index: Int, _ frame: Frame) -> Bool {
            guard !frame.done[index], let view = onlyRead[index] else { return false }
            return invokeNs[index] <= frame.timeNs && completeNs[index] >= frame.timeNs && view.matches(frame.state)
                && seqAllows(index, frame) && !mustExpire(frame.state, at: frame.timeNs, lag: clockLagNs[index])
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
                        frame.placed += isRequired[seqReads[position]] ? 1 : 0
                        changed = true
                    }
                    position += 1
                }
                if changed { normalize(&frame) }
            }
            // Reads without a seq, requested by now (those done are skipped a word at a time: a
            // read with a long wait keeps `timedStart` behind many that are done).
            var index = frame.done.nextClear(from: frame.timedStart)
            while index < operations.count, invokeNs[index] <= frame.timeNs {
                if seq[index] == nil, readFits(index, frame) {
                    frame.done[index] = true
                    frame.placed += isRequired[index] ? 1 : 0
                    changed = true
                }
                index = frame.done.nextClear(from: index + 1)
            }
            if changed { normalize(&frame) }
        }

        /// Appends every frame that may come next, in the order to try them.
        func appendSuccessors(of frame: Frame, to next: inout [Frame]) {
            // Whatever takes effect next does so before the earliest answer still owed.
            let owed = frame.requiredStart < required.count ? completeNs[required[frame.requiredStart]] : .max
            var index = frame.done.nextClear(from: frame.timedStart)
            while index < operations.count, invokeNs[index] <= owed {
                defer { index = frame.done.nextClear(from: index + 1) }
                let at = max(frame.timeNs, invokeNs[index])
                guard at <= completeNs[index], seqAllows(index, frame),
                    !mustExpire(frame.state, at: at, lag: clockLagNs[index])
                else { continue }
                var done = frame.done
                done[index] = true
                let placed = frame.placed + (isRequired[index] ? 1 : 0)
                for effect in effectRanges[index] {
                    apply(effects[effect], to: frame.state, operation: index, done: frame.done) { state in
                        var successor = Frame(
                            done: done, state: state, timeNs: at, seqDone: frame.seqDone, timedStart: frame.timedStart,
                            requiredStart: frame.requiredStart, placed: placed)
                        normalize(&successor)
                        next.append(successor)
                    }
                }
            }
            if frame.state.kind == .held {
                // The hold lapses: at the start of its expiry window, or at once when no expiry is known.
                let at = max(frame.timeNs, frame.state.expiresNs.map { $0.subtractingReportingOverflow(skewNs).partialValue } ?? frame.timeNs)
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
        }

        /// Hands `body` each state `effect` of `operation` may leave `state` in (none: it cannot
        /// take effect there).
        func apply(_ effect: PackedEffect, to state: PackedState, operation: Int, done: BitSet, _ body: (PackedState) -> Void) {
            switch (effect, state.kind) {
            case (.read(let view), _):
                if view.matches(state) { body(state) }
            case (.hold(let user, let hold, let expires), .free):
                body(PackedState(kind: .held, user: user, tag: hold, expiresNs: expires))
            case (.release(let user, let hold), .held):
                if state.user == user && (hold == -1 || state.tag == -1 || hold == state.tag) { body(.free) }
            case (.extend(let hold, let expires), .held):
                if state.tag == -1 || state.tag == hold { body(PackedState(kind: .held, user: state.user, tag: state.tag, expiresNs: expires)) }
            case (.extend, .booked):
                // A hold no longer covers a seat booked since (by its own checkout of part of it, or
                // by a checkout that outlived a loss of the hot state): extending it changes nothing there.
                body(state)
            case (.release(_, let hold), .booked):
                // So with releasing the hold by its id (the seats it names are the client's memory of it).
                if hold != -1 { body(state) }
            case (.checkout(let user, let booking), _):
                if isReplay(operation, done) {
                    body(state)
                } else if state.kind == .held, state.user == user {
                    body(PackedState(kind: .booked, user: user, tag: booking))
                }
            case (.checkoutAcrossLoss(let user, let booking), _):
                if isReplay(operation, done) {
                    body(state)
                } else if state.kind != .booked {
                    body(PackedState(kind: .booked, user: user, tag: booking))
                }
            case (.freeze(let user), .held):
                if state.user == user { body(PackedState(kind: .held, user: state.user, tag: state.tag, expiresNs: nil)) }
            case (.cancel(let booking), .booked):
                if state.tag == booking {
                    body(.free)
                } else if state.tag == -1 {
                    body(.free)
                    body(state)
                } else {
                    body(state)
                }
            case (.cancel, _):
                body(state)
            default:
                break
            }
        }

        /// Whether a checkout of the same booking already took effect: this one replays it.
        private func isReplay(_ operation: Int, _ done: BitSet) -> Bool {
            groupRanges[operation].contains { done[groupMembers[$0]] }
        }
    }
}

/// A fixed-size set of small integers.
struct BitSet: Hashable, Sendable {
    private var words: [UInt64]

    init(count: Int) { words = [UInt64](repeating: 0, count: (count + 63) / 64) }

    /// The first position from `index` on that is not in the set (past the last word when none is).
    func nextClear(from index: Int) -> Int {
        var word = index >> 6
        guard word < words.count else { return index }
        var clear = ~words[word] & (UInt64.max << UInt64(index & 63))
        while clear == 0 {
            word += 1
            if word == words.count { return word << 6 }
            clear = ~words[word]
        }
        return word << 6 + clear.trailingZeroBitCount
    }

    subscript(index: Int) -> Bool {
        get { words[index >> 6] & (1 << UInt64(index & 63)) != 0 }
        set {
            if newValue { words[index >> 6] |= 1 << UInt64(index & 63) } else { words[index >> 6] &= ~(1 << UInt64(index & 63)) }
        }
    }
}
