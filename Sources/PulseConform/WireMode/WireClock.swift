import PulseHistory

/// How far the target's clock may be from this client's, measured from a wire run's holds.
///
/// A hold granted with a known TTL was granted at `expiresAt - ttl` on the server's clock, and at
/// some instant between its request and its answer on the client's. Each hold bounds the offset
/// (server minus client) to `[grant - answered, grant - requested]`; the bounds of every hold
/// intersect. The skew the history records is the larger magnitude of that interval's ends, so
/// that an expiry read at `expires_at_ns` on the client's clock is off by no more.
enum WireClock {
    /// The skew in nanoseconds: the measured bound (plus the millisecond of `expiresAt`), or the
    /// whole TTL when no hold was answered or the holds disagree (the target's TTL is not `ttlSeconds`).
    static func skewNs(_ records: [HistoryRecord], ttlSeconds: Int) -> Int64 {
        let ttlNs = Int64(ttlSeconds) * 1_000_000_000
        var low = Int64.min
        var high = Int64.max
        for operation in HistoryIndex(records).operations where operation.f == "hold" && operation.completion?.type == .ok {
            guard let expires = operation.completion?.int("expires_at_ns"), expires > 0 else { continue }
            let grant = expires - ttlNs
            low = max(low, grant - operation.endNs - 1_000_000)
            high = min(high, grant - operation.startNs + 1_000_000)
        }
        guard low != .min, low <= high else { return ttlNs }
        return max(abs(low), abs(high))
    }
}
