@testable import PulseEngine
import PulseProtocol
import PulseRedis
@testable import PulseReference
import PulseSQLite
import PulseWire
import Testing

/// The hot stores the engine tests run on: every behaviour test runs on each.
enum HotStoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, redis
    var testDescription: String { rawValue }
}

/// A booking engine on a hot store of `kind` (in memory, or Redis on a redis-server of its own)
/// and an in-memory SQLite durable store, with a manual clock, seeded ids and one event.
struct EngineFixture {
    let engine: BookingEngine
    let clock: ManualClock
    let hot: any HotStore
    let durable: SQLiteDurableStore
    let eventID: String
    /// The event's seq right after creation: its generation base.
    let startSeq: Int64
    let kind: HotStoreKind
    let redis: RedisServerProcess?

    static let alice = "aaaaaaaaaaaaaaaaaaaaaaaa"
    static let bob = "bbbbbbbbbbbbbbbbbbbbbbbb"

    static func make(store kind: HotStoreKind = .memory, _ configure: (inout EngineConfiguration) -> Void = { _ in },
                     rows: Int = 2, cols: Int = 5, price: Double = 12.5) async throws -> EngineFixture {
        var configuration = EngineConfiguration(holdTTLSeconds: 60)
        configure(&configuration)
        let clock = ManualClock()
        let durable = try SQLiteDurableStore()
        for user in [alice, bob] {
            try await durable.createUser(UserRecord(id: user, name: user, email: "\(user)@example.com", passwordHash: "x", role: .user, createdAtMs: 0))
        }
        let redis = kind == .redis ? try await RedisServerProcess() : nil
        let hot = try await freshHot(kind, durable: durable, redis: redis, knowsBookedSeats: true)
        let engine = BookingEngine(configuration: configuration, hot: hot, durable: durable, clock: clock, ids: SeededIdentifierSource(seed: 7))
        let event = try await engine.createEvent(CreateEventRequest(title: "Show", venue: "Hall", date: "2027-01-01",
                                                                    venueConfig: VenueConfig(rows: rows, cols: cols, price: price)))
        let startSeq = try await engine.seatMap(event.id).seq
        return EngineFixture(engine: engine, clock: clock, hot: hot, durable: durable, eventID: event.id, startSeq: startSeq, kind: kind, redis: redis)
    }

    /// A hot store with no state, as after a restart (memory) or a Redis that lost its data (Redis
    /// is flushed, so earlier stores of this fixture lose theirs too). Without `knowsBookedSeats` it
    /// is never told the durable store's sold seats, as a broken hot state would be.
    func freshHot(knowsBookedSeats: Bool) async throws -> any HotStore {
        try await Self.freshHot(kind, durable: durable, redis: redis, knowsBookedSeats: knowsBookedSeats)
    }

    private static func freshHot(_ kind: HotStoreKind, durable: SQLiteDurableStore, redis: RedisServerProcess?, knowsBookedSeats: Bool) async throws -> any HotStore {
        switch kind {
        case .memory:
            return InMemoryHotStore(generation: try await durable.nextHotGeneration())
        case .redis:
            let client = RedisClient(try RedisConfiguration(url: redis!.url))
            try await client.send("FLUSHALL")
            let recovery = HotStateRecovery(nextGeneration: { try await durable.nextHotGeneration() },
                                            bookedSeats: { knowsBookedSeats ? try await durable.bookedSeats(eventID: $0) : [] })
            return RedisHotStore(client: client, recovery: recovery)
        }
    }

    /// Every change logged for the event so far.
    func log() async throws -> [SeatChange] {
        guard case .changes(let changes) = try await hot.changes(eventID: eventID, afterSeq: startSeq) else { throw TestFailure("log trimmed") }
        return changes
    }

    func checkout(_ seats: [String], user: String, holdID: String? = nil, amount: Double? = nil, key: String? = nil) async throws -> CheckoutResult {
        try await engine.checkout(eventID: eventID, request: CheckoutRequest(seatIds: seats, holdId: holdID, totalAmount: amount), idempotencyKey: key, userID: user)
    }
}

/// Runs `body` and returns the ``PulseError`` it throws (nil if it throws none).
func pulseError(_ body: () async throws -> some Any) async -> PulseError? {
    do {
        _ = try await body()
        return nil
    } catch let error as PulseError {
        return error
    } catch {
        return PulseError(status: -1, code: .internalError, message: "\(error)")
    }
}
