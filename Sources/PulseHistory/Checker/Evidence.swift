extension HistoryChecker {
    /// How many records of the kinds each invariant examines the history holds. An invariant with
    /// none had nothing to check: a clean result for it means nothing (`pulse check` says
    /// `not checked`, never `ok`).
    public static func evidence(_ records: [HistoryRecord]) -> [Invariant: Int] { evidence(HistoryIndex(records)) }

    /// The same, on an index already built.
    public static func evidence(_ index: HistoryIndex) -> [Invariant: Int] {
        let grants = index.ok("hold").count
        let checkouts = index.ok("checkout").count
        let keyed = index.ok("checkout").filter { $0.invoke.string("key") != nil }.count
        let finalReads = index.finalBookings.count
        let observed = index.observations.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.count } }
        let cancels = index.ok("cancel").count
        let streams = index.observations.values.flatMap(\.values)
        let soldOrFreed = streams.contains { $0.contains { $0.f == "seats_booked" || $0.f == "seats_released" } }
        let snapshots = soldOrFreed ? streams.reduce(0) { $0 + $1.filter { $0.f == "snapshot" }.count } : 0
        return [
            .noDoubleBooking: checkouts + finalReads,
            .holdExclusive: grants,
            .bookingRequiresLiveHold: checkouts,
            .releaseByOwnerOnly: grants,
            .expiryHonoured: grants > 0 ? observed : 0,
            .broadcastOrder: observed,
            .idempotentCheckout: keyed,
            .durableAck: checkouts + cancels > 0 ? finalReads : 0,
            .capacity: (index.heldSeatsMax != nil ? grants : 0) + (index.seatsPerEvent.isEmpty ? 0 : finalReads),
            .cancellationVisible: cancels + snapshots,
        ]
    }
}
