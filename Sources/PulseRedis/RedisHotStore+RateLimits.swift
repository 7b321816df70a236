import PulseEngine

/// Rate limits shared by every instance on one Redis: a sorted set of hit times per key.
extension RedisHotStore {
    /// KEYS: the key's set, the hit counter. ARGV: now, window, limit. Drops hits older than the
    /// window; below `limit` adds one (a unique member from the counter) and answers -1, else the
    /// milliseconds until the oldest hit leaves the window. The set lapses with its window.
    static let countHit = RedisScript(
        """
        local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        if redis.call('ZCARD', KEYS[1]) >= limit then
            local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            return tonumber(oldest[2]) + window - now
        end
        redis.call('ZADD', KEYS[1], now, ARGV[1] .. ':' .. redis.call('INCR', KEYS[2]))
        redis.call('PEXPIRE', KEYS[1], window)
        return -1
        """)

    public func countHit(key: String, limit: Int, windowMs: Int64, nowMs: Int64) async throws -> Int64? {
        precondition(limit > 0 && windowMs > 0)
        let reply = try await mapErrors {
            try await Self.countHit.run(
                on: client, keys: ["pulse:rate:" + key, "pulse:rate-hits"], arguments: [String(nowMs), String(windowMs), String(limit)])
        }
        guard let wait = reply.int else { throw HotStoreError.unavailable("unexpected reply \(reply)") }
        return wait < 0 ? nil : max(wait, 1)
    }
}
