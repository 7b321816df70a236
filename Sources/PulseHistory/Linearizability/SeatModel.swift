/// The model the linearizability check holds every seat to: one object whose every change and
/// every read happened at one instant between its request and its answer.
///
/// A seat is free, held or booked. Holds lapse by an internal step of the model (expiry) that may
/// happen anywhere in `[expiresAt - skew, expiresAt + skew]`: before that window the hold is
/// surely live, after it surely gone.
enum SeatState: Hashable, Sendable {
    case free
    /// Held by `user` under `hold` (nil: a hold whose answer never came), lapsing at `expiresNs`
    /// (nil: unknown, so it may lapse at any time and is never forced to).
    case held(user: String, hold: String?, expiresNs: Int64?)
    /// Booked by `user` as `booking` (nil: a checkout whose answer never came).
    case booked(user: String, booking: String?)
}

/// What a read reported of the seat.
enum SeatView: Hashable, Sendable {
    /// Shown available (seat map, snapshot, a release or cancellation message).
    case free
    /// Shown not available: held or booked (a seat map that lists only the free seats).
    case taken
    /// Shown held by `user` (snapshot `locked`, `seat_locked`).
    case heldBy(String)
    /// Shown booked (snapshot `booked`, `seats_booked`).
    case booked
    /// Booked as `booking` (the final read of the durable state).
    case bookedAs(String)
    /// Not booked: free or held (the final read lists no confirmed booking of the seat).
    case notBooked

    func matches(_ state: SeatState) -> Bool {
        switch (self, state) {
        case (.free, .free), (.notBooked, .free), (.notBooked, .held), (.taken, .held), (.taken, .booked), (.booked, .booked): true
        case (.heldBy(let user), .held(let holder, _, _)): user == holder
        case (.bookedAs(let booking), .booked(_, let booked)): booked == nil || booked == booking
        default: false
        }
    }
}

/// One way an operation may change the seat. An operation whose outcome is unknown lists each
/// effect it may have had; the search tries each.
enum SeatEffect: Hashable, Sendable {
    /// free -> held.
    case hold(user: String, hold: String?, expiresNs: Int64?)
    /// held by `user` (under `hold`, when named) -> free; booked: unchanged when `hold` is named
    /// (a hold no longer covers a seat booked since).
    case release(user: String, hold: String?)
    /// held under `hold` -> the same hold lapsing at `expiresNs` (nil: unknown); booked: unchanged.
    case extend(hold: String, expiresNs: Int64?)
    /// held by `user` -> booked; or, when a checkout of the same booking (one Idempotency-Key)
    /// already took effect, nothing (a replay).
    case checkout(user: String, booking: String?)
    /// free or held by anyone -> booked: a checkout whose hold was lost with the hot state while
    /// it was under way. The durable store, which never lost it, arbitrates: the booking lands
    /// if nobody else booked the seat, over any hold granted since. A replay as `checkout`.
    case checkoutAcrossLoss(user: String, booking: String?)
    /// held by `user` -> the same hold, lapsing at an unknown time: a checkout that failed or
    /// was never answered may have frozen its hold, which then lives until the checkout's lease
    /// ends (past its own expiry) and lapses.
    case freeze(user: String)
    /// booked as `booking` -> free; anything else: unchanged (a booking cancelled before).
    case cancel(booking: String)
    /// No change; the state must match.
    case read(SeatView)

    var isRead: Bool { if case .read = self { true } else { false } }
}

/// One operation or read of one seat, as the check sees it.
struct SeatOperation: Sendable, Equatable {
    /// The effects it may have had: one for an answered operation or a read.
    var effects: [SeatEffect]
    /// When it surely had not happened yet (for a live message: the start of the history).
    var invokeNs: Int64
    /// When it surely had happened, if it did (`Int64.max` when it was never answered).
    var completeNs: Int64
    /// Whether it surely took effect: answered `ok`, or a read. Others may be left out.
    var required: Bool
    /// A read's seq: reads of one event are linearised in seq order.
    var seq: Int64?
    /// Operations of one booking (one Idempotency-Key) share it: the first to take effect books,
    /// the others replay.
    var bookingGroup: Int?
    /// How far behind the server's clock may have been for this operation: a request stalled
    /// after the server read its clock (a `pause` fault) acts on that older instant, so a hold it
    /// meets may be one that has lapsed by the time it takes effect. Live messages take
    /// `Int64.max`: each shows the state its seq was written in, however late it is read.
    var clockLagNs: Int64 = 0
    /// Who did or saw it, and its history lines, for the picture of a lie.
    var process: String
    var f: String
    var lines: [Int]
}
