import PulseEngine
import PulseProtocol
import Synchronization

/// A hot store whose broadcast log lies, for `silent-expiry`, `silent-cancel` and
/// `blind-release-broadcast`: it keeps its own copy of each event's change log, renumbered gap-free,
/// with the store's expiries left out (`dropExpiries`), its cancellations left out
/// (`dropCancellations`) or with a made-up `seat_released` for every seat of a release that released
/// nothing (`announceEmptyReleases`). Holds and seats stay the inner store's, so only what
/// subscribers hear is wrong, as when the seed broadcasts apart from its Redis writes.
///
/// Snapshots carry the copy's seq for the inner state they read. The copy follows the inner log
/// when it is read; when the inner log no longer reaches back (a new generation, a trimmed log)
/// readers get `.trimmed` until the next snapshot starts the copy again.
final class RewrittenLogHotStore: HotStoreDecorator {
    enum Rule: Sendable { case dropExpiries, dropCancellations, announceEmptyReleases }

    /// One event's copy of the log. The copy's seq of the newest inner change is `innerSeq + delta`.
    private struct Copy {
        var innerSeq: Int64
        var delta: Int64
        /// Seqs up to this one are no longer in `entries`.
        var floorOuter: Int64
        var entries: [(innerSeq: Int64, change: SeatChange)] = []
        /// The inner log no longer reaches `innerSeq`: wait for a snapshot.
        var lost = false

        var outerSeq: Int64 { innerSeq + delta }

        static let entriesMax = 4096

        /// The copy's seq for the inner state at `seq` (copied up to at least `seq`).
        func outer(ofInner seq: Int64) -> Int64 {
            entries.last { $0.innerSeq <= seq }?.change.seq ?? floorOuter
        }

        mutating func append(_ change: SeatChange) {
            entries.append((innerSeq, change))
            if entries.count > Self.entriesMax {
                floorOuter = entries[0].change.seq
                entries.removeFirst()
            }
        }
    }

    let inner: any HotStore
    private let rule: Rule
    private let copies = Mutex<[String: Copy]>([:])

    init(_ inner: any HotStore, rule: Rule) {
        self.inner = inner
        self.rule = rule
    }

    /// Copies the inner changes not copied yet, applying the rule.
    private func follow(_ eventID: String) async {
        guard let from = copies.withLock({ $0[eventID].flatMap { $0.lost ? nil : $0.innerSeq } }) else { return }
        let outcome = try? await inner.changes(eventID: eventID, afterSeq: from)
        copies.withLock { copies in
            guard var copy = copies[eventID], !copy.lost else { return }
            switch outcome {
            case .changes(let changes)?:
                for change in changes where change.seq > copy.innerSeq {
                    copy.innerSeq = change.seq
                    if rule == .dropExpiries, case .seatReleased(_, _, .expired, _) = change {
                        copy.delta -= 1
                        continue
                    }
                    if rule == .dropCancellations, case .seatsReleased = change {
                        copy.delta -= 1
                        continue
                    }
                    copy.append(change.renumbered(copy.outerSeq))
                }
            case .trimmed?:
                copy.lost = true
            case nil:
                return
            }
            copies[eventID] = copy
        }
    }

    func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        var snapshot = try await inner.snapshot(eventID: eventID, nowMs: nowMs)
        await follow(eventID)
        snapshot.seq = copies.withLock { copies in
            guard let copy = copies[eventID], !copy.lost else {
                // Start (again) from this snapshot, on seqs above any this copy gave before.
                let delta = copies[eventID]?.delta ?? 0
                copies[eventID] = Copy(innerSeq: snapshot.seq, delta: delta, floorOuter: snapshot.seq + delta)
                return snapshot.seq + delta
            }
            return copy.outer(ofInner: snapshot.seq)
        }
        return snapshot
    }

    func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        await follow(eventID)
        return copies.withLock { copies in
            guard let copy = copies[eventID], !copy.lost, afterSeq >= copy.floorOuter, afterSeq <= copy.outerSeq else { return .trimmed }
            return .changes(copy.entries.filter { $0.change.seq > afterSeq }.map(\.change))
        }
    }

    func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        let outcome = try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: nowMs)
        guard rule == .announceEmptyReleases, outcome == .notFound, case .seats(let wanted) = target else { return outcome }
        await follow(eventID)
        let announced = copies.withLock { copies -> Bool in
            guard var copy = copies[eventID], !copy.lost else { return false }
            for seat in wanted {
                copy.delta += 1
                copy.append(.seatReleased(eventId: eventID, seatId: seat, reason: reason, seq: copy.outerSeq))
            }
            copies[eventID] = copy
            return true
        }
        if announced { inner.changeFeed.markChanged(eventID) }
        return outcome
    }

    func dropEvent(eventID: String) async throws {
        try await inner.dropEvent(eventID: eventID)
        _ = copies.withLock { $0.removeValue(forKey: eventID) }
    }
}

extension SeatChange {
    /// The same change under another seq.
    func renumbered(_ seq: Int64) -> SeatChange {
        switch self {
        case .seatLocked(let event, let seat, let user, _): .seatLocked(eventId: event, seatId: seat, lockedBy: user, seq: seq)
        case .seatReleased(let event, let seat, let reason, _): .seatReleased(eventId: event, seatId: seat, reason: reason, seq: seq)
        case .seatsBooked(let event, let seats, _): .seatsBooked(eventId: event, seatIds: seats, seq: seq)
        case .seatsReleased(let event, let seats, let reason, _): .seatsReleased(eventId: event, seatIds: seats, reason: reason, seq: seq)
        case .eventDeleted(let event, _): .eventDeleted(eventId: event, seq: seq)
        }
    }
}
