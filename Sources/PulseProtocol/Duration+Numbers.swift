/// Durations as the numbers reports and metrics want (benchmarks, simulator, conformance runs, request timers).
extension Duration {
    /// The duration in seconds, for reports.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in whole nanoseconds, for latency samples.
    public var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
