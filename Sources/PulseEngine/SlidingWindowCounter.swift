import Synchronization

/// Hits per key in a sliding window (the embedded hot store's ``HotStore/countHit(key:limit:windowMs:nowMs:)``):
/// at most `limit` hits per `windowMs`. Keeps at most `keysMax` keys; on overflow the least
/// recently hit key is forgotten. Each call is one step under one lock.
public final class SlidingWindowCounter: Sendable {
    let keysMax: Int
    private let hits = Mutex<[String: [Int64]]>([:])

    public init(keysMax: Int = 100_000) {
        precondition(keysMax > 0)
        self.keysMax = keysMax
    }

    /// Counts a hit of `key` at `nowMs` unless `limit` hits already fall in the window; nil when
    /// counted, else the milliseconds until the oldest hit leaves the window (a refused hit is not counted).
    public func hit(_ key: String, limit: Int, windowMs: Int64, nowMs: Int64) -> Int64? {
        precondition(limit > 0 && windowMs > 0)
        return hits.withLock { hits in
            var times = (hits[key] ?? []).filter { $0 > nowMs - windowMs }
            if times.count >= limit {
                hits[key] = times
                return times[0] + windowMs - nowMs
            }
            times.append(nowMs)
            hits[key] = times
            if hits.count > keysMax, let stalest = hits.min(by: { ($0.value.last ?? 0, $0.key) < ($1.value.last ?? 0, $1.key) })?.key {
                hits[stalest] = nil
            }
            return nil
        }
    }
}
