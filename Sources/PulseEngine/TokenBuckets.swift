import Synchronization

/// A token bucket per key: `burst` tokens, refilled at `perSecond`; each action takes one (the
/// reference server's per-user limits, PB-LIMIT-4). At most `keysMax` buckets are kept; past that,
/// full buckets (which say nothing a missing bucket does not) are dropped first, then every
/// bucket. Each call is one step under one lock.
public final class TokenBuckets: Sendable {
    public let perSecond: Double
    public let burst: Double
    let keysMax: Int
    private let clock: any EngineClock
    private let buckets = Mutex<[String: Bucket]>([:])

    struct Bucket {
        var tokens: Double
        var atMs: Int64

        /// The tokens it has at `nowMs`: refilled at `perSecond` since `atMs`, `burst` at most.
        func tokens(at nowMs: Int64, perSecond: Double, burst: Double) -> Double {
            min(burst, tokens + Double(max(0, nowMs - atMs)) / 1000 * perSecond)
        }
    }

    public init(perSecond: Double, burst: Double, clock: any EngineClock, keysMax: Int = 100_000) {
        precondition(perSecond > 0 && burst >= 1 && keysMax > 0)
        self.perSecond = perSecond
        self.burst = burst
        self.clock = clock
        self.keysMax = keysMax
    }

    /// Takes a token of `key`'s bucket: nil when there was one, else the whole seconds until there
    /// will be (at least 1; nothing is taken then).
    public func take(_ key: String) -> Int? {
        let nowMs = clock.nowMs()
        return buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, atMs: nowMs)
            bucket.tokens = bucket.tokens(at: nowMs, perSecond: perSecond, burst: burst)
            bucket.atMs = nowMs
            guard bucket.tokens >= 1 else {
                buckets[key] = bucket
                return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up)))
            }
            bucket.tokens -= 1
            buckets[key] = bucket
            if buckets.count > keysMax {
                buckets = buckets.filter { $0.value.tokens(at: nowMs, perSecond: perSecond, burst: burst) < burst }
                if buckets.count > keysMax { buckets.removeAll(keepingCapacity: true) }
            }
            return nil
        }
    }
}
