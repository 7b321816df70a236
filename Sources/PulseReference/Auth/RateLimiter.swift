import PulseEngine
import Synchronization

/// A sliding-window limiter per client key (PB-AUTH-6): at most `limit` hits per `windowMs`.
/// Keeps at most `keysMax` keys; on overflow the least recently used key is forgotten.
public final class RateLimiter: Sendable {
    public let limit: Int
    public let windowMs: Int64
    let keysMax: Int
    private let clock: any EngineClock
    private let hits = Mutex<[String: [Int64]]>([:])

    public init(limit: Int, windowMs: Int64, clock: any EngineClock, keysMax: Int = 100_000) {
        precondition(limit > 0 && windowMs > 0 && keysMax > 0)
        self.limit = limit
        self.windowMs = windowMs
        self.clock = clock
        self.keysMax = keysMax
    }

    /// Records a hit for `key`; nil when allowed, else the seconds until the next hit is allowed.
    public func hit(_ key: String) -> Int? {
        let now = clock.nowMs()
        return hits.withLock { hits in
            var times = (hits[key] ?? []).filter { $0 > now - windowMs }
            if times.count >= limit {
                hits[key] = times
                return Int((times[0] + windowMs - now + 999) / 1000)
            }
            times.append(now)
            hits[key] = times
            if hits.count > keysMax, let stalest = hits.min(by: { ($0.value.last ?? 0, $0.key) < ($1.value.last ?? 0, $1.key) })?.key {
                hits[stalest] = nil
            }
            return nil
        }
    }
}
