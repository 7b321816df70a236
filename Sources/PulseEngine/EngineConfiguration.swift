/// Limits and timings of the booking engine (SPEC.md PB-LIMIT). Units last in names.
public struct EngineConfiguration: Sendable, Equatable {
    /// Largest hold TTL a server may be configured with.
    public static let holdTTLSecondsMax = 3600

    /// Lifetime of a new hold (`--hold-ttl`, default 600 s).
    public var holdTTLSeconds: Int = 600
    /// A hold can be extended until it is this old (default 3 × TTL).
    public var holdLifetimeSecondsMax: Int? = nil
    /// Seats one hold may cover.
    public var seatsPerHoldMax: Int = 10
    /// Seats one user may hold at once in one event.
    public var heldSeatsPerUserMax: Int = 10
    /// How long a checkout may take between freezing its holds and committing, before the
    /// server fences it off (a crashed or paused checkout).
    public var checkoutLeaseSeconds: Int = 30
    /// Longest accepted `Idempotency-Key`.
    public var idempotencyKeyLengthMax: Int = 128
    /// Longest accepted cancellation reason, in Unicode code points (PB-CHECKOUT-8).
    public var cancellationReasonLengthMax: Int = 500

    public init(holdTTLSeconds: Int = 600) { self.holdTTLSeconds = holdTTLSeconds }

    var holdTTLMs: Int64 { Int64(holdTTLSeconds) * 1000 }
    var holdLifetimeMaxMs: Int64 { Int64(holdLifetimeSecondsMax ?? 3 * holdTTLSeconds) * 1000 }
    var checkoutLeaseMs: Int64 { Int64(checkoutLeaseSeconds) * 1000 }

    /// Describes the first limit that is out of range, or nil when all are sane.
    public func validationProblem() -> String? {
        if !(1...Self.holdTTLSecondsMax).contains(holdTTLSeconds) { return "hold TTL must be 1...\(Self.holdTTLSecondsMax) seconds" }
        if let lifetime = holdLifetimeSecondsMax, lifetime < holdTTLSeconds { return "hold lifetime must be at least the hold TTL" }
        if !(1...100).contains(seatsPerHoldMax) { return "seats per hold must be 1...100" }
        if !(1...1300).contains(heldSeatsPerUserMax) { return "held seats per user must be 1...1300" }
        if !(1...600).contains(checkoutLeaseSeconds) { return "checkout lease must be 1...600 seconds" }
        return nil
    }
}
