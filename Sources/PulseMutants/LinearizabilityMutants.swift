import PulseEngine
import PulseProtocol
import Synchronization

/// `stale-seat-map`: the seat map (and every snapshot) is served from a copy of the event's hot
/// state taken up to a second earlier, as a read cache or a lagging read replica would serve it.
/// The copy is whole and carries its own seq, so every view built on it stays consistent and no
/// invariant sees it; a reader can still be shown a seat free that was sold before it asked.
final class StaleSnapshotHotStore: HotStoreDecorator {
    let inner: any HotStore
    /// How old a copy may be before it is taken again.
    static let maxAgeMs: Int64 = 1_000
    /// event -> (when the copy was taken, the copy).
    private let copies = Mutex<[String: (takenMs: Int64, snapshot: HotSnapshot)]>([:])
    init(_ inner: any HotStore) { self.inner = inner }

    func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        if let copy = copies.withLock({ $0[eventID] }), nowMs - copy.takenMs < Self.maxAgeMs { return copy.snapshot }
        let fresh = try await inner.snapshot(eventID: eventID, nowMs: nowMs)
        copies.withLock { $0[eventID] = (nowMs, fresh) }
        return fresh
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
