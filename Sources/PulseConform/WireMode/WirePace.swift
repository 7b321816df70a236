import PulseHistory

/// What a wire run measured of its own pace and of the target's clock, from the operations it
/// recorded once its users were done.
struct WirePace {
    /// The longest a request waited for its answer (`ok` or `fail`; one never answered does not
    /// count): the pace of the target and of this machine together.
    let slowestAnswerNs: Int64
    /// The holds answered `ok` with an expiry: (request, answer, `expires_at_ns`).
    private let holds: [(startNs: Int64, endNs: Int64, expiresNs: Int64)]

    init(_ records: [HistoryRecord]) {
        let answered = HistoryIndex(records).operations.filter { $0.completion?.type == .ok || $0.completion?.type == .fail }
        slowestAnswerNs = answered.map { $0.endNs - $0.startNs }.max() ?? 0
        holds = answered.compactMap { operation in
            guard operation.f == "hold", operation.isOK, let expires = operation.completion?.int("expires_at_ns"), expires > 0 else { return nil }
            return (operation.startNs, operation.endNs, expires)
        }
    }

    /// How long after a hold's expiry its announcement may arrive: PB-HOLD-8's second, plus twice
    /// the slowest answer (at least 2 s in all, at most 30 s).
    var announcementGraceNs: Int64 { min(30_000_000_000, max(2_000_000_000, 1_000_000_000 + 2 * slowestAnswerNs)) }

    /// How far the target's clock may be from this client's. A hold granted with a TTL of
    /// `ttlSeconds` was granted at `expiresAt - ttl` on the server's clock, and at some instant
    /// between its request and its answer on the client's: each hold bounds the offset (server
    /// minus client) to `[grant - answered, grant - requested]`, and the bounds of every hold
    /// intersect. The skew is the larger magnitude of that interval's ends (plus the millisecond
    /// of `expiresAt`), or the whole TTL when no hold was answered or the holds disagree (the
    /// target's TTL is not `ttlSeconds`).
    func clockSkewNs(ttlSeconds: Int) -> Int64 {
        let ttlNs = Int64(ttlSeconds) * 1_000_000_000
        var low = Int64.min
        var high = Int64.max
        for hold in holds {
            let grant = hold.expiresNs - ttlNs
            low = max(low, grant - hold.endNs - 1_000_000)
            high = min(high, grant - hold.startNs + 1_000_000)
        }
        guard low != .min, low <= high else { return ttlNs }
        return max(abs(low), abs(high))
    }
}
