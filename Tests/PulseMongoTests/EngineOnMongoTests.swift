import EngineBehaviour
import PulseEngine
import PulseMongo
import PulseWire
import Testing

/// A MongoDB-protocol server of its own as the durable store, the in-memory hot store.
final class MongoWorld: StoreWorld {
    let durable: any DurableStore
    let mongo: MongoServerProcess
    private let slot: Slots.Slot

    static let stores = Stores(.mongo) { try await MongoWorld() }

    /// At most four worlds (four servers) at once: the behaviours run in parallel, and 32 Python
    /// servers starting together on a loaded two-core machine outlasted their start-up bound and
    /// starved the other suites' servers.
    static let slots = Slots(4)

    init() async throws {
        (slot, (mongo, durable)) = try await Self.slots.take {
            let mongo = try await MongoServerProcess()
            return (mongo, try await MongoDurableStore(url: mongo.url()))
        }
    }

    deinit { slot.give() }

    func freshHot(knowsBookedSeats: Bool) async throws -> any HotStore {
        InMemoryHotStore(generation: try await durable.nextHotGeneration())
    }

    func otherInstance(of hot: any HotStore) throws -> any HotStore { hot }

    func stop() { mongo.kill() }
}

@Suite("Engine behaviour on a MongoDB durable store", .timeLimit(.minutes(10)))
struct EngineOnMongoTests {
    @Test("the engine behaves", arguments: EngineBehaviour.all(on: .mongo))
    func behaves(_ behaviour: EngineBehaviour) async throws {
        try await behaviour.run(on: MongoWorld.stores)
    }
}
