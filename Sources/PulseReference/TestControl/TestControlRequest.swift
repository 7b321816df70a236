import Synchronization

/// What a request of a conformance suite asked of a server started with `--test-control`
/// (SPEC.md §14, PB-TEST): a short hold TTL, and stalls that make races repeatable. Set for the
/// duration of one request by ``TestControlMiddleware``; absent everywhere else.
public struct TestControlRequest: Sendable {
    /// The request in progress, if it came with test-control headers.
    @TaskLocal public static var current: TestControlRequest?

    /// Hold TTL for holds this request grants (PB-TEST-3).
    public var holdTTLSeconds: Int?
    /// Pause before the request's first hot-store step (PB-TEST-5 `before=`).
    public var stallBeforeFirstHotStepMs: Int?
    /// Pause after the request's first hot-store step (PB-TEST-5 `hot=`).
    public var stallAfterFirstHotStepMs: Int?
    /// Pause right before the request commits a booking to the durable store (PB-TEST-5).
    public var stallBeforeCommitMs: Int?
    /// A durable-store failure to inject into the request's booking commit (PB-TEST-7).
    public var commitFault: CommitFault?
    /// The lease of the request's checkout instead of the server's (PB-TEST-8).
    public var checkoutLeaseMs: Int?

    /// PB-TEST-7's faults of a booking commit.
    public enum CommitFault: String, Sendable {
        /// The commit fails before anything is written.
        case fail
        /// The commit is written, then its answer is lost.
        case lost
    }
    private let hotStepSeen = Flag()
    private let hotStepStarted = Flag()

    public init(
        holdTTLSeconds: Int? = nil, stallBeforeFirstHotStepMs: Int? = nil, stallAfterFirstHotStepMs: Int? = nil, stallBeforeCommitMs: Int? = nil
    ) {
        self.holdTTLSeconds = holdTTLSeconds
        self.stallBeforeFirstHotStepMs = stallBeforeFirstHotStepMs
        self.stallAfterFirstHotStepMs = stallAfterFirstHotStepMs
        self.stallBeforeCommitMs = stallBeforeCommitMs
    }

    /// The stall owed before a hot-store step: the asked one before the first step, none after.
    func stallBeforeHotStep() -> Int? {
        guard let ms = stallBeforeFirstHotStepMs, hotStepStarted.setOnce() else { return nil }
        return ms
    }

    /// The stall owed after a hot-store step: the asked one after the first step, none after.
    func stallAfterHotStep() -> Int? {
        guard let ms = stallAfterFirstHotStepMs, hotStepSeen.setOnce() else { return nil }
        return ms
    }

    private final class Flag: Sendable {
        private let set = Mutex(false)
        /// True the first time only.
        func setOnce() -> Bool {
            set.withLock { wasSet in
                defer { wasSet = true }
                return !wasSet
            }
        }
    }
}

func sleepMs(_ ms: Int?) async {
    guard let ms, ms > 0 else { return }
    try? await Task.sleep(for: .milliseconds(ms))
}
