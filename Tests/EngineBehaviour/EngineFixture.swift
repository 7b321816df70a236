import PulseEngine
import PulseProtocol
import Testing

/// A booking engine on one world of stores, with a manual clock, seeded ids, two users and one
/// event.
public struct EngineFixture: Sendable {
    public let engine: BookingEngine
    public let clock: ManualClock
    public let hot: any HotStore
    public let durable: any DurableStore
    public let eventID: String
    /// The event's seq right after creation: its generation base.
    public let startSeq: Int64
    public let world: any StoreWorld

    public static let alice = "aaaaaaaaaaaaaaaaaaaaaaaa"
    public static let bob = "bbbbbbbbbbbbbbbbbbbbbbbb"

    public static func make(
        _ stores: Stores, _ configure: (inout EngineConfiguration) -> Void = { _ in },
        rows: Int = 2, cols: Int = 5, price: Double = 12.5
    ) async throws -> EngineFixture {
        var configuration = EngineConfiguration(holdTTLSeconds: 60)
        configure(&configuration)
        let clock = ManualClock()
        let world = try await stores.makeWorld()
        let durable = world.durable
        for user in [alice, bob] {
            try await durable.createUser(
                UserRecord(id: user, name: user, email: "\(user)@example.com", passwordHash: "x", role: .user, createdAtMs: 0))
        }
        let hot = try await world.freshHot(knowsBookedSeats: true)
        let engine = BookingEngine(configuration: configuration, hot: hot, durable: durable, clock: clock, ids: SeededIdentifierSource(seed: 7))
        let event = try await engine.createEvent(
            CreateEventRequest(
                title: "Show", venue: "Hall", date: "2027-01-01",
                venueConfig: VenueConfig(rows: rows, cols: cols, price: price)))
        let startSeq = try await engine.seatMap(event.id).seq
        return EngineFixture(engine: engine, clock: clock, hot: hot, durable: durable, eventID: event.id, startSeq: startSeq, world: world)
    }

    /// A hot store with no state on the fixture's world (see ``StoreWorld/freshHot(knowsBookedSeats:)``).
    public func freshHot(knowsBookedSeats: Bool) async throws -> any HotStore {
        try await world.freshHot(knowsBookedSeats: knowsBookedSeats)
    }

    /// A second engine on the fixture's stores: another server instance sharing its hot and
    /// durable state (a connection of its own on a server).
    public func otherInstance(seed: UInt64 = 99) throws -> BookingEngine {
        BookingEngine(
            configuration: engine.configuration, hot: try world.otherInstance(of: hot), durable: durable, clock: clock,
            ids: SeededIdentifierSource(seed: seed))
    }

    /// Every change logged for the event so far.
    public func log() async throws -> [SeatChange] {
        guard case .changes(let changes) = try await hot.changes(eventID: eventID, afterSeq: startSeq) else { throw TestFailure("log trimmed") }
        return changes
    }

    public func checkout(_ seats: [String], user: String, holdID: String? = nil, amount: Double? = nil, key: String? = nil) async throws
        -> CheckoutResult
    {
        try await engine.checkout(
            eventID: eventID, request: CheckoutRequest(seatIds: seats, holdId: holdID, totalAmount: amount), idempotencyKey: key, userID: user)
    }
}

/// Runs `body` and returns the ``PulseError`` it throws (nil if it throws none).
public func pulseError(_ body: () async throws -> some Any) async -> PulseError? {
    do {
        _ = try await body()
        return nil
    } catch let error as PulseError {
        return error
    } catch {
        return PulseError(status: -1, code: .internalError, message: "\(error)")
    }
}
