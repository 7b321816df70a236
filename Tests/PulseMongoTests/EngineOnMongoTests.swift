import EngineBehaviour
import PulseEngine
import PulseMongo
import PulseWire
import Testing

/// A MongoDB-protocol server of its own as the durable store, the in-memory hot store.
final class MongoWorld: StoreWorld {
    let durable: any DurableStore
    let mongo: MongoServerProcess

    static let stores = Stores(.mongo) { try await MongoWorld() }

    init() async throws {
        mongo = try await MongoServerProcess()
        durable = try await MongoDurableStore(url: mongo.url())
    }

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
