import EngineBehaviour
import PulseEngine
import PulseRedis
import PulseSQLite
import PulseWire
import Testing

/// A `redis-server` of its own as the hot store, SQLite in memory as the durable store.
final class RedisWorld: StoreWorld {
    let durable: any DurableStore
    let redis: RedisServerProcess

    private let slot: Slots.Slot

    static let stores = Stores(.redis) { try await RedisWorld() }

    /// At most four worlds (four servers) at once, as on MongoDB: 37 behaviours starting their
    /// servers together on a loaded machine slowed every other suite's first connection past its
    /// bound.
    static let slots = Slots(4)

    init() async throws {
        (slot, (durable, redis)) = try await Self.slots.take { (try SQLiteDurableStore(), try await RedisServerProcess()) }
    }

    deinit { slot.give() }

    /// A Redis hot store on a connection of its own that rebuilds from the durable store.
    func connect(knowsBookedSeats: Bool = true) throws -> RedisHotStore {
        let durable = durable
        let recovery = HotStateRecovery(
            nextGeneration: { try await durable.nextHotGeneration() },
            bookedSeats: { knowsBookedSeats ? try await durable.bookedSeats(eventID: $0) : [:] })
        return RedisHotStore(client: RedisClient(try Self.configuration(redis)), recovery: recovery, clock: .caller)
    }

    func freshHot(knowsBookedSeats: Bool) async throws -> any HotStore {
        try await RedisClient(try Self.configuration(redis)).send("FLUSHALL")
        return try connect(knowsBookedSeats: knowsBookedSeats)
    }

    func otherInstance(of hot: any HotStore) throws -> any HotStore { try connect() }

    func stop() { redis.stop() }

    /// The configuration of a behaviour's Redis client: not a timing test, and the whole suite
    /// runs at once on two cores, so a step may wait a while for its turn.
    static func configuration(_ redis: RedisServerProcess) throws -> RedisConfiguration { try configuration(url: redis.url) }

    /// `url` with patient bounds on connecting and on each command (a test of behaviour, not of timing).
    static func configuration(url: String) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.commandTimeout = .seconds(15)
        // Connecting (TCP, then INFO for the run id) is bounded by its own timeout, 1 s by
        // default: a client's first command on each pooled connection connects, so on a loaded
        // machine a slow connect failed that command (503) and, during the reconnect backoff
        // after it, the next ones on that connection too.
        configuration.connectTimeout = .seconds(15)
        return configuration
    }
}

@Suite("Engine behaviour on a Redis hot store", .timeLimit(.minutes(10)))
struct EngineOnRedisTests {
    @Test("the engine behaves", arguments: EngineBehaviour.all(on: .redis))
    func behaves(_ behaviour: EngineBehaviour) async throws {
        try await behaviour.run(on: RedisWorld.stores)
    }

    /// Another instance's first step opens its connections, and a Redis that answers late
    /// meanwhile (paused here, as a loaded machine delays it) delays the step, never fails it
    /// with 503 `store_unavailable`.
    @Test("another instance's first Redis step, while Redis answers late, is delayed, never refused")
    func lateRedisDelaysSteps() async throws {
        let f = try await EngineFixture.make(RedisWorld.stores)
        let world = try #require(f.world as? RedisWorld)
        defer { world.stop() }
        let other = try f.otherInstance()
        world.redis.pause()
        let held = Task { try await other.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice) }
        try await Task.sleep(for: .milliseconds(1_500))
        world.redis.resume()
        let hold = try await held.value
        #expect(hold.seatIDs == ["A1"])
    }
}
