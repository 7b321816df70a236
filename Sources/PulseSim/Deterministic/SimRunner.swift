import PulseEngine
import PulseHistory
import PulseLive
import PulseMutants
import PulseProtocol
import PulseSQLite
import PulseScenario
import Synchronization

/// One deterministic simulation: the reference engine's real code on the in-memory hot store and
/// an in-memory SQLite durable store, wrapped with scheduling points, a virtual clock and
/// ``SimScheduler``; the production live hub (``LiveHub``) pumping changes to subscribers that
/// read what it queued for them; virtual users, subscribers, the hub and the expiry sweeper as
/// simulated processes. A mutant (PulseMutants) is put in where the server would put it.
/// The same configuration (seed included) gives a byte-identical history.
public enum SimRunner {
    /// What a run produced.
    public struct Outcome: Sendable {
        public var history: [HistoryRecord]
        public var violations: [Violation]
        /// Scheduling decisions taken.
        public var steps: Int
        public var virtualMs: Int64
    }

    static let startMs: Int64 = 1_767_225_600_000

    /// How far a run has come (for progress bars).
    public struct Progress: Sendable {
        public var usersDone: Int
        public var users: Int
        public var virtualMs: Int64
        public var steps: Int
    }

    /// Runs the simulation (with `mutant`'s defect put in, if any) and checks its history. Throws
    /// only when the set-up fails. `progress` is called every few thousand scheduling steps;
    /// `check: false` skips the checker (benchmarks that time it on their own).
    public static func run(
        _ configuration: SimConfiguration, mutant: Mutant? = nil, check: Bool = true,
        progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> Outcome {
        try await SimExecutor.run { try await runOnSimThread(configuration, mutant: mutant, check: check, progress: progress) }
    }

    private static func runOnSimThread(
        _ configuration: SimConfiguration, mutant: Mutant?, check: Bool,
        progress: (@Sendable (Progress) -> Void)?
    ) async throws -> Outcome {
        let clock = ManualClock(startMs: startMs)
        let serverClock = SimServerClock(truth: clock)
        let scheduler = SimScheduler(seed: configuration.seed, clock: clock)
        let recorder = HistoryRecorder(clock: clock)
        let server = SimServer(catchUp: mutant?.catchUp ?? LogCatchUp())
        let faults = SimFaults(scheduler: scheduler, recorder: recorder, configuration: configuration, server: server, startMs: startMs)
        let sqlite = try SQLiteDurableStore(blocking: true)
        let durable = SimDurableStore(sqlite, faults: faults)
        let hot = SimHotStore(
            InMemoryHotStore(generation: try await sqlite.nextHotGeneration(), logCapacity: configuration.changeLogCapacity), faults: faults)
        var engineConfiguration = EngineConfiguration(holdTTLSeconds: configuration.holdTTLSeconds)
        engineConfiguration.heldSeatsPerUserMax = configuration.heldSeatsPerUserMax
        engineConfiguration.seatsPerHoldMax = min(engineConfiguration.seatsPerHoldMax, configuration.heldSeatsPerUserMax)
        engineConfiguration.checkoutLeaseSeconds = configuration.checkoutLeaseSeconds
        // One id source across restarts: a restarted process never repeats a token or a booking id.
        let ids = SeededIdentifierSource(seed: configuration.seed)
        // A mutant's decorator goes directly around the store the engine calls, above the scheduling points.
        let makeEngine: @Sendable (any HotStore) -> BookingEngine = { [engineConfiguration] hot in
            BookingEngine(
                configuration: engineConfiguration, hot: mutant?.decorate(hot, wait: { await scheduler.sleep(ms: $0) }) ?? hot, durable: durable,
                clock: serverClock, ids: ids)
        }
        let engine = makeEngine(hot)
        server.restart(engine)
        let event = try await engine.createEvent(
            CreateEventRequest(
                title: "Simulated", venue: "Sim Hall", date: "2030-01-01T20:00:00Z",
                venueConfig: VenueConfig(rows: configuration.rows, cols: configuration.cols, price: 10)))
        try await sqlite.createUsers(
            (0..<configuration.users).map { index in
                let id = SimWorld.userID(index)
                return UserRecord(id: id, name: "User", email: "\(id)@sim.invalid", passwordHash: "-", role: .user, createdAtMs: startMs)
            })
        recorder.record(
            "harness", .observe, "config",
            [
                "seats_per_event": .object([event.id: .int(Int64(configuration.rows * configuration.cols))]),
                "held_seats_max": .int(Int64(configuration.heldSeatsPerUserMax)),
                "expiry_grace_ns": .int(configuration.expiryGraceMs * 1_000_000),
            ])
        let world = SimWorld(
            configuration: configuration, server: server, faults: faults, serverClock: serverClock, eventID: event.id,
            startMs: startMs, makeEngine: makeEngine)
        await withDiscardingTaskGroup { group in
            scheduler.spawn(configuration.users, in: &group) { index in ("u\(index)", { await world.user(index: index) }) }
            for index in 0..<configuration.subscribers {
                scheduler.spawn("s\(index)", in: &group) { await world.subscriber() }
            }
            scheduler.spawn("sweeper", in: &group) { await world.sweeper() }
            scheduler.spawn("hub", in: &group) { await world.liveHub() }
            if SimWorld.hasSchedule(configuration) {
                scheduler.spawn("nemesis", in: &group) { await world.nemesis(hot: hot, durable: sqlite) }
            }
            await scheduler.run(every: progress == nil ? nil : 4_096) {
                progress?(
                    Progress(
                        usersDone: configuration.users - world.usersLeft, users: configuration.users,
                        virtualMs: clock.nowMs() - startMs, steps: scheduler.steps))
            }
        }
        var bookings: [HistoryValue] = []
        for booking in try await sqlite.bookings(eventID: event.id) {
            bookings.append(
                .object([
                    "booking": .string(booking.id), "user": .string(world.userName(booking.userID)), "seats": .list(booking.seatIDs),
                    "status": .string(booking.status),
                ]))
        }
        recorder.record("harness", .observe, "final_bookings", ["event": .string(event.id), "bookings": .array(bookings)])
        let history = recorder.all
        return Outcome(
            history: history, violations: check ? HistoryChecker.check(history) : [], steps: scheduler.steps, virtualMs: clock.nowMs() - startMs)
    }
}
