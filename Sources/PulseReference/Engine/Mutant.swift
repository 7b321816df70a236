/// Known-broken variants of the reference engine (DESIGN.md, "Known-broken engines"). Each one
/// exists to prove that the harness catches it: the simulator must report a violation for every
/// mutant within a bounded number of seeds, and pass the unmodified engine on the same seeds.
/// Never enable one outside a test of the harness.
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

    /// One line on what is broken, for `--list-mutants`.
    public var summary: String {
        switch self {
        case .seedRelease: "release reads the holder, then deletes whatever hold is on the seat"
        case .noFence: "checkout does not freeze the holds it checked while the booking commits"
        case .blindReleaseBroadcast: "seat_released is broadcast even when nothing was released"
        case .noSeq: "changes reach subscribers out of order"
        case .noHoldCap: "the per-user cap of held seats is not enforced"
        case .silentExpiry: "expired holds vanish without a broadcast"
        }
    }
}
