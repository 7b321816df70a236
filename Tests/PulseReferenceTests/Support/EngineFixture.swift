import PulseProtocol
@testable import PulseReference

/// A booking engine on in-memory stores with a manual clock and seeded ids, and one event.
struct EngineFixture {
    let engine: BookingEngine
    let clock: ManualClock
    let hot: InMemoryHotStore
    let durable: SQLiteDurableStore
    let eventID: String

    static let alice = "aaaaaaaaaaaaaaaaaaaaaaaa"
    static let bob = "bbbbbbbbbbbbbbbbbbbbbbbb"

    static func make(_ configure: (inout EngineConfiguration) -> Void = { _ in }, rows: Int = 2, cols: Int = 5, price: Double = 12.5) async throws -> EngineFixture {
        var configuration = EngineConfiguration(holdTTLSeconds: 60)
        configure(&configuration)
        let clock = ManualClock()
        let durable = try SQLiteDurableStore()
        for user in [alice, bob] {
            try await durable.createUser(UserRecord(id: user, name: user, email: "\(user)@example.com", passwordHash: "x", role: .user, createdAtMs: 0))
        }
        let hot = InMemoryHotStore(generation: try await durable.nextHotGeneration())
        let engine = BookingEngine(configuration: configuration, hot: hot, durable: durable, clock: clock, ids: SeededIdentifierSource(seed: 7))
        let event = try await engine.createEvent(CreateEventRequest(title: "Show", venue: "Hall", date: "2027-01-01",
                                                                    venueConfig: VenueConfig(rows: rows, cols: cols, price: price)))
        return EngineFixture(engine: engine, clock: clock, hot: hot, durable: durable, eventID: event.id)
    }

    /// Every change logged for the event so far.
    func log() async throws -> [SeatChange] {
        guard case .changes(let changes) = try await hot.changes(eventID: eventID, afterSeq: 1 << 32) else { throw TestFailure("log trimmed") }
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
