/// Checks a history against every invariant of HISTORY.md ("Invariants"). Each invariant is one function in the
/// `Invariant+*.swift` files; together they read the history a few times over (near-linear in
/// its length for realistic per-seat contention).
public enum HistoryChecker {
    /// Every violation found, ordered by invariant, then as each function reports them.
    public static func check(_ records: [HistoryRecord]) -> [Violation] { check(HistoryIndex(records)) }

    /// The same, on an index already built (``evidence(_:)`` reads the same one).
    public static func check(_ index: HistoryIndex) -> [Violation] {
        let intervals = index.heldIntervals()
        return noDoubleBooking(index)
            + holdExclusive(index, intervals)
            + bookingRequiresLiveHold(index, intervals)
            + releaseByOwnerOnly(index, intervals)
            + expiryHonoured(index, intervals)
            + broadcastOrder(index)
            + idempotentCheckout(index)
            + durableAck(index)
            + capacity(index, intervals)
            + cancellationVisible(index)
    }
}
