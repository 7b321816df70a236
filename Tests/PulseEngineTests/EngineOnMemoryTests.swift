import EngineBehaviour
import PulseEngine
import PulseSQLite
import Testing

/// The in-memory hot store on SQLite in memory: no server, no network.
struct MemoryWorld: StoreWorld {
    let durable: any DurableStore

    static let stores = Stores(.memory) { MemoryWorld(durable: try SQLiteDurableStore()) }

    func freshHot(knowsBookedSeats: Bool) async throws -> any HotStore {
        InMemoryHotStore(generation: try await durable.nextHotGeneration())
    }

    func otherInstance(of hot: any HotStore) throws -> any HotStore { hot }

    func stop() {}
}

@Suite("Engine behaviour on the in-memory hot store", .timeLimit(.minutes(10)))
struct EngineOnMemoryTests {
    @Test("the engine behaves", arguments: EngineBehaviour.all(on: .memory))
    func behaves(_ behaviour: EngineBehaviour) async throws {
        try await behaviour.run(on: MemoryWorld.stores)
    }
}

@Suite("The engine behaviour list")
struct EngineBehaviourListTests {
    /// A test report names each behaviour by its name, and a store runs only what its kind lists:
    /// a behaviour dropped from every kind, or two of one name, would go unnoticed.
    @Test("every behaviour runs on the in-memory stores at least, and no two share a name")
    func listIsWhole() {
        let memory = EngineBehaviour.all(on: .memory)
        #expect(Set(memory.map(\.name)).count == memory.count)
        for kind in StoreKind.allCases {
            let names = EngineBehaviour.all(on: kind).map(\.name)
            #expect(!names.isEmpty && Set(names).isSubset(of: Set(memory.map(\.name))), "\(kind) runs \(names.count)")
        }
    }
}
