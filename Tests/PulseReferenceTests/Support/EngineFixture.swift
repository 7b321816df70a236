@testable import PulseEngine
import PulseMongo
import PulseProtocol
import PulseRedis
@testable import PulseReference
import PulseSQLite
import PulseWire
import Testing

/// The stores the engine tests run on: every behaviour test runs on each. `memory` and `redis`
/// name the hot store (the durable store is SQLite in memory); `mongo` is the in-memory hot store
/// on a MongoDB durable store (a SecantusDB server of its own).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory, redis, mongo
    var testDescription: String { rawValue }
}

/// A booking engine on the stores of `kind` (a redis-server or MongoDB server of its own where
/// named), with a manual clock, seeded ids and one event.
struct EngineFixture {
    let engine: BookingEngine
    let clock: ManualClock
    let hot: any HotStore
    let durable: any DurableStore
    let eventID: String
    /// The event's seq right after creation: its generation base.
    let startSeq: Int64
    let kind: StoreKind
    let redis: RedisServerProcess?
    let mongo: MongoServerProcess?

    static let alice = "aaaaaaaaaaaaaaaaaaaaaaaa"
    static let bob = "bbbbbbbbbbbbbbbbbbbbbbbb"

    static func make(store kind: StoreKind = .memory, _ configure: (inout EngineConfiguration) -> Void = { _ in },
                     rows: Int = 2, cols: Int = 5, price: Double = 12.5) async throws -> EngineFixture {
        var configuration = EngineConfiguration(holdTTLSeconds: 60)
        configure(&configuration)
        let clock = ManualClock()
        let mongo = kind == .mongo ? try await MongoServerProcess() : nil
        let durable: any DurableStore = if let mongo { try await MongoDurableStore(url: mongo.url()) } else { try SQLiteDurableStore() }
        for user in [alice, bob] {
            try await durable.createUser(UserRecord(id: user, name: user, email: "\(user)@example.com", passwordHash: "x", role: .user, createdAtMs: 0))
        }
        let redis = kind == .redis ? try await RedisServerProcess() : nil
        let hot = try await freshHot(kind, durable: durable, redis: redis, knowsBookedSeats: true)
        let engine = BookingEngine(configuration: configuration, hot: hot, durable: durable, clock: clock, ids: SeededIdentifierSource(seed: 7))
        let event = try await engine.createEvent(CreateEventRequest(title: "Show", venue: "Hall", date: "2027-01-01",
                                                                    venueConfig: VenueConfig(rows: rows, cols: cols, price: price)))
        let startSeq = try await engine.seatMap(event.id).seq
        return EngineFixture(engine: engine, clock: clock, hot: hot, durable: durable, eventID: event.id, startSeq: startSeq, kind: kind, redis: redis, mongo: mongo)
    }

    /// A hot store with no state, as after a restart (memory) or a Redis that lost its data (Redis
    /// is flushed, so earlier stores of this fixture lose theirs too). Without `knowsBookedSeats` it
    /// is never told the durable store's sold seats, as a broken hot state would be.
    func freshHot(knowsBookedSeats: Bool) async throws -> any HotStore {
        try await Self.freshHot(kind, durable: durable, redis: redis, knowsBookedSeats: knowsBookedSeats)
    }

    private static func freshHot(_ kind: StoreKind, durable: any DurableStore, redis: RedisServerProcess?, knowsBookedSeats: Bool) async throws -> any HotStore {
        switch kind {
        case .memory, .mongo:
            return InMemoryHotStore(generation: try await durable.nextHotGeneration())
        case .redis:
            let client = RedisClient(try Self.redisConfiguration(redis!))
            try await client.send("FLUSHALL")
            let recovery = HotStateRecovery(nextGeneration: { try await durable.nextHotGeneration() },
                                            bookedSeats: { knowsBookedSeats ? try await durable.bookedSeats(eventID: $0) : [:] })
            return RedisHotStore(client: client, recovery: recovery)
        }
    }

    /// The configuration of a behaviour test's Redis client: not a timing test, and the whole
    /// suite runs at once on two cores, so a step may wait a while for its turn.
    static func redisConfiguration(_ redis: RedisServerProcess) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: redis.url)
        configuration.commandTimeout = .seconds(15)
        // Connecting (TCP, then INFO for the run id) is bounded by its own timeout, 1 s by
        // default: a client's first command on each pooled connection connects, so on a loaded
        // machine a slow connect failed that command (503) and, during the reconnect backoff
        // after it, the next ones on that connection too.
        configuration.connectTimeout = .seconds(15)
        return configuration
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
