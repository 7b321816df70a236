import PulseProtocol
import PulseReference
import Synchronization

/// One deterministic simulation: the reference engine's real code on the in-memory hot store and
/// an in-memory SQLite durable store, wrapped with scheduling points, a virtual clock and
/// ``SimScheduler``; virtual users, subscribers and the expiry sweeper as simulated processes.
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

    /// Runs the simulation and checks its history. Throws only when the set-up fails.
    public static func run(_ configuration: SimConfiguration) async throws -> Outcome {
        let clock = ManualClock(startMs: startMs)
        let scheduler = SimScheduler(seed: configuration.seed, clock: clock)
        let recorder = HistoryRecorder(clock: clock)
        let faults = SimFaults(scheduler: scheduler, recorder: recorder, pauseProbability: configuration.pauseProbability, pauseMs: configuration.pauseMs,
                               durableFailureProbability: configuration.durableFailureProbability)
        let sqlite = try SQLiteDurableStore()
        let durable = SimDurableStore(sqlite, faults: faults)
        let hot = SimHotStore(InMemoryHotStore(generation: try await sqlite.nextHotGeneration(), logCapacity: configuration.changeLogCapacity, mutant: configuration.mutant), faults: faults)
        var engineConfiguration = EngineConfiguration(holdTTLSeconds: configuration.holdTTLSeconds)
        engineConfiguration.mutant = configuration.mutant
        engineConfiguration.heldSeatsPerUserMax = configuration.heldSeatsPerUserMax
        engineConfiguration.seatsPerHoldMax = min(engineConfiguration.seatsPerHoldMax, configuration.heldSeatsPerUserMax)
        engineConfiguration.checkoutLeaseSeconds = configuration.checkoutLeaseSeconds
        let engine = BookingEngine(configuration: engineConfiguration, hot: hot, durable: durable, clock: clock,
                                   ids: SeededIdentifierSource(seed: configuration.seed))
        let event = try await engine.createEvent(CreateEventRequest(
            title: "Simulated", venue: "Sim Hall", date: "2030-01-01T20:00:00Z",
            venueConfig: VenueConfig(rows: configuration.rows, cols: configuration.cols, price: 10)))
        let users = (0..<configuration.users).map { String(format: "%024x", 0x5151_0000 + $0) }
        for user in users {
            try await sqlite.createUser(UserRecord(id: user, name: "User", email: "\(user)@sim.invalid", passwordHash: "-", role: .user, createdAtMs: startMs))
        }
        recorder.record("harness", .observe, "config", [
            "seats_per_event": .object([event.id: .int(Int64(configuration.rows * configuration.cols))]),
            "held_seats_max": .int(Int64(configuration.heldSeatsPerUserMax)),
            "expiry_grace_ns": .int((configuration.sweepIntervalMs + configuration.subscriberPollMs + 1) * 1_000_000),
        ])
        let world = SimWorld(configuration: configuration, engine: engine, scheduler: scheduler, recorder: recorder, eventID: event.id,
                             usersLeft: users.count)
        await withTaskGroup(of: Void.self) { group in
            for (index, user) in users.enumerated() {
                scheduler.spawn("u\(index)", in: &group) { await world.user(index: index, id: user) }
            }
            for index in 0..<configuration.subscribers {
                scheduler.spawn("s\(index)", in: &group) { await world.subscriber() }
            }
            scheduler.spawn("sweeper", in: &group) { await world.sweeper() }
            if !configuration.hotStateLossAtMs.isEmpty {
                scheduler.spawn("nemesis", in: &group) {
                    await world.nemesis(hot: hot, durable: sqlite, startMs: startMs)
                }
            }
            await scheduler.run()
            await group.waitForAll()
        }
        var bookings: [HistoryValue] = []
        for (index, user) in users.enumerated() {
            for booking in try await sqlite.bookings(userID: user) {
                bookings.append(.object(["booking": .string(booking.id), "user": .string("u\(index)"), "seats": .list(booking.seatIDs)]))
            }
        }
        recorder.record("harness", .observe, "final_bookings", ["event": .string(event.id), "bookings": .array(bookings)])
        let history = recorder.all
        return Outcome(history: history, violations: HistoryChecker.check(history), steps: scheduler.steps, virtualMs: clock.nowMs() - startMs)
    }
}
