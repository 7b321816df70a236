import PulseEngine

/// Per-user limits on the actions one account could churn as fast as the server goes (PB-LIMIT-4):
/// holds (REST and `request_lock`), checkouts, and live messages of every kind. Each is a token
/// bucket per user in this process; nil turns a limit off.
public struct UserRateLimits: Sendable {
    public struct Rate: Sendable, Equatable {
        public var perSecond: Double
        public var burst: Double
        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    public var holds: Rate? = Rate(perSecond: 10, burst: 30)
    public var checkouts: Rate? = Rate(perSecond: 2, burst: 10)
    public var liveMessages: Rate? = Rate(perSecond: 20, burst: 60)
    public init() {}

    /// No limits (the benchmarks' many requests per user, and tests that race one user).
    public static let off: UserRateLimits = {
        var limits = UserRateLimits()
        (limits.holds, limits.checkouts, limits.liveMessages) = (nil, nil, nil)
        return limits
    }()

    /// Every rate multiplied by `factor` (`pulse serve --user-rate-scale`); 0 turns them off.
    public func scaled(by factor: Double) -> UserRateLimits {
        guard factor > 0 else { return .off }
        var limits = self
        for path in [\UserRateLimits.holds, \.checkouts, \.liveMessages] {
            limits[keyPath: path] = limits[keyPath: path].map { Rate(perSecond: $0.perSecond * factor, burst: $0.burst * factor) }
        }
        return limits
    }
}

/// The buckets of ``UserRateLimits`` for one server.
final class UserLimiters: Sendable {
    let holds: TokenBuckets?
    let checkouts: TokenBuckets?
    let liveMessages: TokenBuckets?

    init(_ limits: UserRateLimits, clock: any EngineClock) {
        func buckets(_ rate: UserRateLimits.Rate?) -> TokenBuckets? {
            rate.map { TokenBuckets(perSecond: $0.perSecond, burst: $0.burst, clock: clock) }
        }
        holds = buckets(limits.holds)
        checkouts = buckets(limits.checkouts)
        liveMessages = buckets(limits.liveMessages)
    }

    /// Throws 429 `rate_limited` with `Retry-After` when `userID` has no token left in `buckets`.
    static func require(_ buckets: TokenBuckets?, _ userID: String, _ what: String) throws {
        guard let retryAfter = buckets?.take(userID) else { return }
        var error = PulseError(status: 429, code: .rateLimited, message: "Too many \(what) from this account, please slow down.")
        error.retryAfterSeconds = retryAfter
        throw error
    }
}
