import PulseEngine
import PulseLive

/// Known-broken variants of the reference (ARCHITECTURE.md, "Mutants"). Each one exists to
/// prove that the harness catches it: the simulator must report a violation for every mutant within
/// a bounded number of seeds, and pass the unmodified engine on the same seeds. Never enable one
/// outside a test of the harness.
///
/// This is the one place that lists them and says where each is put in. None touches the engine's
/// or the hub's code: each is a decorator around the hot store or a catch-up strategy for the live
/// hub, chosen when the server (or the simulator) is wired (``decorate(_:)``, ``catchUp``).
public enum Mutant: String, CaseIterable, Sendable, Codable {
    /// The seed's release: read the holder, then delete whatever hold is on the seat (GET then DEL),
    /// so a stale release can remove another user's newer hold (seed race 1).
    case seedRelease = "seed-release"
    /// Checkout checks the holds and then trusts that check: the holds are not frozen while the
    /// booking commits, so a checkout paused past the TTL lands over a newer hold (seed race 2).
    case noFence = "no-fence"
    /// `seat_released` is broadcast for the requested seats even when nothing was released (seed race 4).
    case blindReleaseBroadcast = "blind-release-broadcast"
    /// Changes reach subscribers out of order (each batch reversed), as without sequence numbers.
    case noSeq = "no-seq"
    /// The per-user cap of held seats is not enforced (hoarding; seed race 9).
    case noHoldCap = "no-hold-cap"
    /// Expired holds are removed without a `seat_released` broadcast.
    case silentExpiry = "silent-expiry"
    /// The live hub's catch-up of a rejoining subscriber skips the first change it missed.
    case skipReplayedChange = "skip-replayed-change"
    /// A cancellation puts its seats back on sale without a `seats_released` broadcast.
    case silentCancel = "silent-cancel"
    /// A cancellation frees its seats by seat, whoever booked them since: a repeated cancel of a
    /// booking whose seats were sold again frees the new buyer's seats in the hot store.
    case cancelFreesResold = "cancel-frees-resold"
    /// The seat map and snapshots are served from a copy up to a second old (a read cache). Every
    /// invariant holds; only the linearizability check sees it.
    case staleSeatMap = "stale-seat-map"
    /// The release of one hold in three (those whose fence is a multiple of three) is answered
    /// done and never applied. Every invariant holds; only the linearizability check sees it.
    case lostRelease = "lost-release"
    /// Snapshots and seat maps from a copy up to a second old, served under the event's current
    /// seq: a snapshot whose seq is newer than the state it shows.
    case seqAheadSnapshot = "seq-ahead-snapshot"
    /// Snapshots and seat maps read in two round trips, half the seats from each, under the
    /// first's seq: a multi-seat change between them is shown half done. Only the multi-seat
    /// part of the linearizability check sees it.
    case tornSeatMap = "torn-seat-map"

    /// Where a mutant is put in.
    public enum Site: Sendable {
        /// A decorator around the hot store the engine uses (any hot store: in memory or Redis).
        case hotStore
        /// The live hub's catch-up strategy.
        case liveCatchUp
    }

    /// Where this mutant is put in.
    public var site: Site {
        switch self {
        case .skipReplayedChange: .liveCatchUp
        case .seedRelease, .noFence, .blindReleaseBroadcast, .noSeq, .noHoldCap, .silentExpiry, .silentCancel, .cancelFreesResold,
            .staleSeatMap, .lostRelease, .seqAheadSnapshot, .tornSeatMap:
            .hotStore
        }
    }

    /// One line on what is broken, for `--list-mutants`.
    public var summary: String {
        switch self {
        case .seedRelease: "release reads the holder, then deletes whatever hold is on the seat"
        case .noFence: "checkout does not freeze the holds it checked while the booking commits"
        case .blindReleaseBroadcast: "seat_released is broadcast even when nothing was released"
        case .noSeq: "changes reach subscribers out of order"
        case .noHoldCap: "the per-user cap of held seats is not enforced"
        case .silentExpiry: "expired holds vanish without a broadcast"
        case .skipReplayedChange: "a rejoining subscriber's catch-up skips the first change it missed"
        case .silentCancel: "a cancellation frees its seats without a broadcast"
        case .cancelFreesResold: "a repeated cancellation frees its seats even when they were sold again"
        case .staleSeatMap: "the seat map and snapshots come from a copy up to a second old"
        case .lostRelease: "one release in three (fence a multiple of 3) is answered done and never applied"
        case .seqAheadSnapshot: "the seat map and snapshots come from a copy up to a second old, under the current seq"
        case .tornSeatMap: "the seat map and snapshots are read in two round trips 100 ms apart, half the seats from each"
        }
    }

    /// `hot` with this mutant's defect, or `hot` itself when the defect lives elsewhere. Put it
    /// directly around the store the engine calls (above any scheduling or fault decorator, so
    /// that a multi-step defect such as `seed-release` is interleaved as separate round trips).
    /// `wait` waits that many milliseconds: of the simulator's clock in a simulation, real ones in
    /// a server (a defect that spreads its steps in time uses it).
    public func decorate(_ hot: any HotStore, wait: @escaping @Sendable (Int64) async -> Void) -> any HotStore {
        switch self {
        case .seedRelease: SeedReleaseHotStore(hot)
        case .noFence: UnfencedCheckoutHotStore(hot)
        case .noSeq: UnorderedChangesHotStore(hot)
        case .noHoldCap: UncappedHoldsHotStore(hot)
        case .blindReleaseBroadcast: RewrittenLogHotStore(hot, rule: .announceEmptyReleases)
        case .silentExpiry: RewrittenLogHotStore(hot, rule: .dropExpiries)
        case .silentCancel: RewrittenLogHotStore(hot, rule: .dropCancellations)
        case .cancelFreesResold: SeatwiseFreeingHotStore(hot)
        case .staleSeatMap: StaleSnapshotHotStore(hot)
        case .lostRelease: LostReleaseHotStore(hot)
        case .seqAheadSnapshot: StaleSnapshotHotStore(hot, seq: .current)
        case .tornSeatMap: TornSnapshotHotStore(hot, wait: wait)
        case .skipReplayedChange: hot
        }
    }

    /// The live hub's catch-up with this mutant's defect, or the production one.
    public var catchUp: any LiveCatchUp {
        switch self {
        case .skipReplayedChange: SkippingCatchUp()
        default: LogCatchUp()
        }
    }
}
