/// Percentiles of a set of latencies, in milliseconds (nearest-rank on the sorted samples).
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    public var p50Ms: Double
    public var p99Ms: Double
    public var maxMs: Double

    /// Summarises `nanoseconds`; all zero for no samples.
    public init(nanoseconds: [UInt64]) {
        let sorted = nanoseconds.sorted()
        count = sorted.count
        func rank(_ fraction: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index]) / 1_000_000
        }
        p50Ms = rank(0.50)
        p99Ms = rank(0.99)
        maxMs = rank(1.0)
    }
}
