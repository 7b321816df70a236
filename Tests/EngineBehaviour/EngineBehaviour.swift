import PulseEngine
import Testing

/// The engine's behaviour, written once and run by each layer's test target on its own stores:
/// `PulseEngineTests` on the in-memory hot store (no server), `PulseRedisTests` on a real
/// `redis-server`, `PulseMongoTests` on a MongoDB-protocol durable store. A new hot or durable
/// store runs the same list by supplying a ``StoreWorld``.
public struct EngineBehaviour: Sendable, CustomTestStringConvertible {
    /// What the behaviour checks, as the test report prints it.
    public let name: String
    /// The stores it applies to (some behaviours depend on no store and run on memory alone).
    public let kinds: Set<StoreKind>
    let body: @Sendable (Stores) async throws -> Void

    init(_ name: String, on kinds: Set<StoreKind> = Set(StoreKind.allCases), _ body: @escaping @Sendable (Stores) async throws -> Void) {
        self.name = name
        self.kinds = kinds
        self.body = body
    }

    public var testDescription: String { name }

    /// Runs the behaviour on `stores`; throws (or records an issue) when the engine misbehaves.
    public func run(on stores: Stores) async throws { try await body(stores) }

    /// Every behaviour that applies to `kind`.
    public static func all(on kind: StoreKind) -> [EngineBehaviour] {
        (holds + checkouts + cancellations + durableFailures + caches).filter { $0.kinds.contains(kind) }
    }
}

/// The kinds of stores behaviours run on: `memory` and `redis` name the hot store (the durable
/// store is SQLite in memory); `mongo` is the in-memory hot store on a MongoDB durable store.
public enum StoreKind: String, CaseIterable, Sendable {
    case memory, redis, mongo
}

/// One behaviour's stores: the servers it started, if any, and a durable store with no data.
public protocol StoreWorld: Sendable {
    /// The durable store, empty when the world is made.
    var durable: any DurableStore { get }
    /// A hot store with no state, as after a restart (memory) or a Redis that lost its data (on
    /// Redis the server is flushed, so the world's earlier hot stores lose theirs too). Without
    /// `knowsBookedSeats` it is never told the durable store's sold seats, as a broken hot state
    /// would be.
    func freshHot(knowsBookedSeats: Bool) async throws -> any HotStore
    /// `hot` as another server instance sharing it reaches it: the same object in memory, a
    /// connection of its own to the same server otherwise.
    func otherInstance(of hot: any HotStore) throws -> any HotStore
    /// Stops the servers the world started (they also stop when it is released).
    func stop()
}

/// How a test target makes the worlds of one kind of stores.
public struct Stores: Sendable {
    public let kind: StoreKind
    let makeWorld: @Sendable () async throws -> any StoreWorld

    /// `makeWorld` is called once per fixture and must give stores no other fixture shares.
    public init(_ kind: StoreKind, makeWorld: @escaping @Sendable () async throws -> any StoreWorld) {
        self.kind = kind
        self.makeWorld = makeWorld
    }
}

/// A failure a behaviour reports by throwing.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
