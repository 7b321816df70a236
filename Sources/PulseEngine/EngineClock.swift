import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The engine's only source of time: wall-clock milliseconds since the Unix epoch.
///
/// Production injects ``SystemClock``; tests and the simulator inject a clock they move by hand,
/// so that TTLs and expiry run on virtual time.
public protocol EngineClock: Sendable {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    func nowMs() -> Int64
}

/// The operating system's real-time clock.
public struct SystemClock: EngineClock {
    public init() {}
    public func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// A clock that moves only when told to: for tests and deterministic simulation.
public final class ManualClock: EngineClock {
    private let current: Mutex<Int64>

    /// Starts at `startMs` (default 2026-01-01T00:00:00Z).
    public init(startMs: Int64 = 1_767_225_600_000) { current = Mutex(startMs) }

    public func nowMs() -> Int64 { current.withLock { $0 } }

    /// Moves the clock forward by `ms` milliseconds.
    public func advance(byMs ms: Int64) {
        precondition(ms >= 0, "a manual clock only moves forward; use set(toMs:) for jumps")
        current.withLock { $0 += ms }
    }

    /// Sets the clock to an absolute instant (a clock jump, forwards or backwards).
    public func set(toMs ms: Int64) { current.withLock { $0 = ms } }
}
