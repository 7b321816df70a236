import PulseProtocol

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
    /// Probability that a user looks at the seat map before each hold attempt (a `browse`).
    public var browseProbability = 0.0
    /// Probability of retrying a successful checkout with the same Idempotency-Key.
    public var retryProbability = 0.3
    /// Probability that a user cancels a booking it made (after a think), and that it cancels the
    /// same booking again later (a second tab, a double click), while others race for the seats.
    public var cancelProbability = 0.0
    public var cancelAgainProbability = 0.3
    public var holdTTLSeconds = 5
    public var heldSeatsPerUserMax = 3
    public var checkoutLeaseSeconds = 2
    public var subscribers = 2
    /// How often subscribers poll for changes and the sweeper runs, in virtual milliseconds.
    public var subscriberPollMs: Int64 = 50
    /// How often the server's live hub delivers rung changes, in virtual milliseconds.
    public var livePumpMs: Int64 = 5
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
    /// How users arrive: all at the start (closed: a fixed population, each doing its operations),
    /// or as a Poisson stream (open: arrivals do not wait for the system).
    public var arrival: Arrival = .closed
    /// Closed: users start spread evenly over the ramp. Open: the arrival rate climbs linearly
    /// from zero to its full value over the ramp.
    public var rampMs: Int64 = 0

    /// Requests (hold, extend, release, checkout) delayed on the way in or out, by up to
    /// `requestDelayMsMax`; lost on the way in (never reached the server) or on the way out (the
    /// server acted, the client never heard); or delivered twice (a retrying proxy). A client
    /// that hears nothing gives up after `clientTimeoutMs` and records `info`.
    public var requestDelayProbability = 0.0
    public var requestDelayMsMax: Int64 = 500
    public var requestDropProbability = 0.0
    public var responseDropProbability = 0.0
    public var requestDuplicateProbability = 0.0
    public var clientTimeoutMs: Int64 = 3_000
    /// Live messages delayed (by up to `messageDelayMsMax`) or lost in transit; a subscriber
    /// notices a lost message by the gap in seqs and asks again from its last seq.
    public var messageDelayProbability = 0.0
    public var messageDelayMsMax: Int64 = 500
    public var messageDropProbability = 0.0
    /// Times (ms after the start) at which the hot store fails over to a replica that lags by
    /// `failoverLagMs`: writes of that last stretch are lost.
    public var failoverAtMs: [Int64] = []
    public var failoverLagMs: Int64 = 1_000
    /// Whether the server rebuilds its hot state after a failover (the reference does); false
    /// only to show that trusting a lagging replica is caught.
    public var recoverAfterFailover = true
    /// Steps of the server's clock (positive: forwards), relative to true time.
    public var clockJumps: [ClockJump] = []
    /// Times at which the server process crashes; it restarts `serverDownMs` later on the same
    /// durable store, with a fresh hot state (the embedded store dies with the process).
    public var serverCrashAtMs: [Int64] = []
    public var serverDownMs: Int64 = 1_000
    /// The faulty phase: probabilistic faults happen only in the first `faultsUntilMs` of virtual
    /// time (nil: all run long); then the system heals, quiesces and is read.
    public var faultsUntilMs: Int64?

    /// Limits: users start no operation after `durationLimitMs` of virtual time, and no more than
    /// `operationsLimit` hold attempts are made in all.
    public var durationLimitMs: Int64?
    public var operationsLimit: Int?

    public init(seed: UInt64 = 1) { self.seed = seed }

    /// How users arrive (see ``arrival``).
    public enum Arrival: Sendable, Equatable {
        case closed
        case open(perSecond: Double)
    }

    /// One step of the server's clock.
    public struct ClockJump: Sendable, Equatable {
        public var atMs: Int64
        public var byMs: Int64
        public init(atMs: Int64, byMs: Int64) {
            self.atMs = atMs
            self.byMs = byMs
        }
    }

    /// The seats of one hold attempt: 1...`seatsPerHoldMax` picks, each in the hot first row with
    /// probability `hotSpotShare`, else anywhere (repeats dropped). Deterministic and wire users
    /// draw them the same way.
    public func pickSeats(_ random: inout SeededRandom) -> [String] {
        var seats: [String] = []
        for _ in 0..<(1 + random.below(seatsPerHoldMax)) {
            let row = random.chance(hotSpotShare) ? 0 : random.below(rows)
            let seat = SeatGrid.label(row: row, col: 1 + random.below(cols))
            if !seats.contains(seat) { seats.append(seat) }
        }
        return seats
    }

    /// Longest a live message may take to reach a subscriber after its change, in virtual ms:
    /// the sweep, a poll, and an injected delay.
    public var expiryGraceMs: Int64 { sweepIntervalMs + livePumpMs + subscriberPollMs + (messageDelayProbability > 0 ? messageDelayMsMax : 0) + 1 }
}
