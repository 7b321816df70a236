import PulseEngine
import PulseProtocol
import Synchronization

/// `stale-seat-map`: the seat map (and every snapshot) is served from a copy of the event's hot
/// state taken up to a second earlier, as a read cache or a lagging read replica would serve it.
/// The copy is whole and carries its own seq, so every view built on it stays consistent and no
/// invariant sees it; a reader can still be shown a seat free that was sold before it asked.
///
/// `seq-ahead-snapshot` (``SeqShown/current``): the same copy, served under the event's current
/// seq, as a cache that stamps what it serves with the seq it last heard of: a snapshot whose seq
/// is newer than the state it shows.
final class StaleSnapshotHotStore: HotStoreDecorator {
    /// Which seq a served copy carries.
    enum SeqShown {
        /// The copy's own: the state and the seq agree.
        case copy
        /// The event's current one, read at every request.
        case current
    }

    let inner: any HotStore
    let seq: SeqShown
    /// How old a copy may be before it is taken again.
    static let maxAgeMs: Int64 = 1_000
    /// event -> (when the copy was taken, the copy).
    private let copies = Mutex<[String: (takenMs: Int64, snapshot: HotSnapshot)]>([:])
    init(_ inner: any HotStore, seq: SeqShown = .copy) {
        self.inner = inner
        self.seq = seq
    }

    func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        let copy = copies.withLock { $0[eventID] }
        if let copy, nowMs - copy.takenMs < Self.maxAgeMs, seq == .copy { return copy.snapshot }
        let fresh = try await inner.snapshot(eventID: eventID, nowMs: nowMs)
        if var old = copy?.snapshot, nowMs - copy!.takenMs < Self.maxAgeMs {
            old.seq = fresh.seq
            return old
        }
        copies.withLock { $0[eventID] = (nowMs, fresh) }
        return fresh
    }
}

/// `torn-seat-map`: the seat map (and every snapshot) is read in two round trips ``gapMs`` apart,
/// the seats whose label ends in an odd digit from the first and the others from the second, and
/// served under the first's seq, as a server that reads a venue in parts would. A multi-seat hold
/// made between the two reads is shown on some of its seats and not on others; each seat alone
/// shows a state it had while the read was under way, so only the check that a multi-seat
/// operation changed all its seats at one instant sees it.
final class TornSnapshotHotStore: HotStoreDecorator {
    let inner: any HotStore
    /// Waits that many milliseconds (of the simulator's clock in a simulation).
    let wait: @Sendable (Int64) async -> Void
    static let gapMs: Int64 = 100
    init(_ inner: any HotStore, wait: @escaping @Sendable (Int64) async -> Void) {
        self.inner = inner
        self.wait = wait
    }

    func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        let first = try await inner.snapshot(eventID: eventID, nowMs: nowMs)
        await wait(Self.gapMs)
        let second = try await inner.snapshot(eventID: eventID, nowMs: nowMs + Self.gapMs)
        let fromFirst = { (seat: String) in seat.last?.wholeNumberValue.map { $0 % 2 == 1 } ?? false }
        return HotSnapshot(
            seq: first.seq,
            lockedBy: first.lockedBy.filter { fromFirst($0.key) }.merging(second.lockedBy.filter { !fromFirst($0.key) }) { kept, _ in kept },
            booked: first.booked.filter(fromFirst).union(second.booked.filter { !fromFirst($0) }))
    }
}

/// `lost-release`: the release of a hold whose fence is a multiple of three (one hold in three, in
/// the order an event grants them) is answered as done before its hot step, and the step never
/// happens (a write acknowledged before it was applied, then lost). The hold stays until it
/// expires, which is announced as an expiry; no broadcast lies about the release, so no invariant
/// sees it; the caller was told the seats were free while nobody else could hold them.
final class LostReleaseHotStore: HotStoreDecorator {
    let inner: any HotStore
    init(_ inner: any HotStore) { self.inner = inner }

    func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        guard case .hold(let holdID) = target, reason == .released,
            let hold = try await inner.holds(eventID: eventID, userID: userID, nowMs: nowMs).first(where: { $0.id == holdID }),
            hold.fence % 3 == 0
        else {
            return try await inner.release(eventID: eventID, target: target, userID: userID, reason: reason, nowMs: nowMs)
        }
        return .released(seatIDs: hold.seatIDs)
    }
}
