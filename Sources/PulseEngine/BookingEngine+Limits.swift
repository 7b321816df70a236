extension BookingEngine {
    /// Counts one hit of `key` against a limit of `limit` hits per `windowMs`, shared by every
    /// instance on the hot store (PB-AUTH-6): nil when allowed, else whole seconds to wait (at
    /// least 1). Throws 503 `store_unavailable` when the hot store cannot answer.
    public func countHit(key: String, limit: Int, windowMs: Int64) async throws -> Int? {
        let waitMs = try await onHot(mutating: false) { try await hot.countHit(key: key, limit: limit, windowMs: windowMs, nowMs: clock.nowMs()) }
        return waitMs.map { Int(max(1, ($0 + 999) / 1000)) }
    }
}
