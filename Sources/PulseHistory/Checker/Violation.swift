/// A broken invariant: which, where, why, and the history lines that witness it.
public struct Violation: Sendable, Equatable, CustomStringConvertible {
    public var invariant: Invariant
    public var event: String
    public var seat: String?
    public var message: String
    /// 1-based line numbers of the records that show the violation.
    public var witnessLines: [Int]

    public var description: String {
        "\(invariant.rawValue): event \(event)\(seat.map { " seat \($0)" } ?? ""): \(message) (lines \(witnessLines.map(String.init).joined(separator: ", ")))"
    }
}

/// The invariants of HISTORY.md ("Invariants"), each checked by one function over a ``HistoryIndex``.
public enum Invariant: String, Sendable, CaseIterable, Codable {
    case noDoubleBooking = "no-double-booking"
    case holdExclusive = "hold-exclusive"
    case bookingRequiresLiveHold = "booking-requires-live-hold"
    case releaseByOwnerOnly = "release-by-owner-only"
    case expiryHonoured = "expiry-honoured"
    case broadcastOrder = "broadcast-order"
    case idempotentCheckout = "idempotent-checkout"
    case durableAck = "durable-ack"
    case capacity = "capacity"
    case cancellationVisible = "cancellation-visible"
}
