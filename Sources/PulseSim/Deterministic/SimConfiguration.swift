import PulseReference

/// What one deterministic run simulates: the venue, the users and their behaviour mix, the
/// engine's limits. (Scenario files will map onto this; see the simulator issue.)
public struct SimConfiguration: Sendable, Equatable {
    public var seed: UInt64 = 1
    /// Venue of the one event: rows × cols seats.
    public var rows = 4
    public var cols = 10
    public var users = 20
    /// Hold attempts per user.
    public var operationsPerUser = 8
    /// Seats per hold attempt: 1...this.
    public var seatsPerHoldMax = 2
    /// Fraction of seat picks that go to the first row (the hot spot).
    public var hotSpotShare = 0.6
    /// Longest think time between a user's actions, in virtual milliseconds.
    public var thinkMsMax: Int64 = 3_000
    /// After a granted hold: probability of checking out, of releasing, of extending first; the
    /// rest abandon the hold (it expires).
    public var checkoutProbability = 0.5
    public var releaseProbability = 0.2
    public var extendProbability = 0.2
    /// Probability of retrying a successful checkout with the same Idempotency-Key.
    public var retryProbability = 0.3
    public var holdTTLSeconds = 5
    public var heldSeatsPerUserMax = 3
    public var checkoutLeaseSeconds = 2
    public var subscribers = 2
    /// How often subscribers poll for changes and the sweeper runs, in virtual milliseconds.
    public var subscriberPollMs: Int64 = 50
    public var sweepIntervalMs: Int64 = 250
    /// Probability that a user's request pauses at a store boundary (a GC pause, a stalled
    /// process), and for how long; the default outlasts the hold TTL.
    public var pauseProbability = 0.03
    public var pauseMs: Int64 = 6_500
    /// Probability, at each poll, that a subscriber's connection drops; it rejoins after
    /// `dropMs` with `sinceSeq` (replayed from the change log, or a snapshot once trimmed).
    public var subscriberDropProbability = 0.0
    public var subscriberDropMs: Int64 = 2_000
    /// Probability that a booking commit fails in the durable store: half of them before anything
    /// is written, half after the commit landed but before the answer (a lost acknowledgement).
    public var durableFailureProbability = 0.0
    /// Probability that a client crashes right after sending a checkout (it never sees the answer
    /// and does nothing more).
    public var clientCrashProbability = 0.0
    /// Changes the hot store keeps per event for replays (the reference keeps 1024).
    public var changeLogCapacity = 1024
    /// Virtual times (ms after the start) at which the hot store loses all its state.
    public var hotStateLossAtMs: [Int64] = []
    /// Of the releases, the share made seat by seat (the socket's `release_lock`) instead of by hold id.
    public var releaseBySeatsShare = 0.5
    /// How long subscribers and the sweeper go on after the last user finished (the quiesce
    /// phase), in virtual ms; nil: long enough for every hold to expire (3 × TTL + 1 s).
    public var quiesceMs: Int64?
    /// A known defect to run the engine with (harness tests); nil for the reference.
    public var mutant: Mutant?

    public init(seed: UInt64 = 1) { self.seed = seed }
}
