import PulseProtocol

/// The reference booking engine: events, holds, checkout and expiry, written against the
/// ``HotStore`` and ``DurableStore`` protocols and fed time and randomness through
/// ``EngineClock`` and ``IdentifierSource``. The HTTP server, the live WebSocket and the
/// simulator all drive this same code.
///
/// Every method either returns its result or throws a ``PulseError``.
public final class BookingEngine: Sendable {
    public let configuration: EngineConfiguration
    public let hot: any HotStore
    public let durable: any DurableStore
    public let clock: any EngineClock
    public let ids: any IdentifierSource
    let metrics: EngineMetrics
    /// Events as the hold path last read them (stamp-checked in the hot step; see ``EventCache``).
    let eventCache = EventCache()
    /// Cancellations whose hot step failed, for the sweeper to finish.
    let pendingFrees = PendingFrees()

    public init(
        configuration: EngineConfiguration, hot: any HotStore, durable: any DurableStore,
        clock: any EngineClock, ids: any IdentifierSource, metrics: EngineMetrics = .discarded
    ) {
        precondition(configuration.validationProblem() == nil, configuration.validationProblem() ?? "")
        self.configuration = configuration
        self.hot = hot
        self.durable = durable
        self.clock = clock
        self.ids = ids
        self.metrics = metrics
    }

    /// Calls the hot store, reporting its unavailability as a 503 whose outcome may be unknown.
    func onHot<T>(mutating: Bool = true, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch HotStoreError.unavailable(let detail) {
            throw PulseError.storeUnavailable("hot store: \(detail)", outcomeUnknown: mutating)
        }
    }

    /// Calls the durable store, reporting its unavailability as a 503 whose outcome may be unknown.
    func onDurable<T>(mutating: Bool = false, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch DurableStoreError.unavailable(let detail) {
            throw PulseError.storeUnavailable("durable store: \(detail)", outcomeUnknown: mutating)
        }
    }

    /// Entity ids are 24 lowercase hex characters; anything else is a 400 `invalid_id`.
    public static func requireEntityID(_ id: String, _ what: String) throws {
        guard Hex.isHex(id, count: 24) else { throw PulseError(status: 400, code: .invalidID, message: "Invalid \(what) ID: \(id.prefix(64))") }
    }

    /// The event, or 404 when it does not exist (or was deleted).
    public func existingEvent(_ eventID: String) async throws -> EventRecord {
        try Self.requireEntityID(eventID, "event")
        guard let event = try await onDurable({ try await durable.event(id: eventID) }) else { throw PulseError.eventNotFound }
        return event
    }

    /// The event if it accepts holds and bookings: active, and its date not yet come (PB-EVENT-5,
    /// PB-EVENT-8). Throws 404 `event_not_found`, 409 `event_inactive`.
    func activeEvent(_ eventID: String) async throws -> EventRecord {
        let event = try await existingEvent(eventID)
        try event.requireOpen(nowMs: clock.nowMs())
        return event
    }

    /// Checks a list of seat ids against the event's grid: non-empty, at most `max`, no
    /// duplicates, every one a seat of the venue (PB-HOLD-3).
    func validSeats(_ seatIDs: [String], of event: EventRecord, max: Int) throws -> [String] {
        guard !seatIDs.isEmpty else { throw PulseError.invalid("seatIds", "seatIds must name at least one seat.") }
        guard seatIDs.count <= max else { throw PulseError.invalid("seatIds", "At most \(max) seats per request.") }
        guard Set(seatIDs).count == seatIDs.count else { throw PulseError.invalid("seatIds", "seatIds must not repeat a seat.") }
        let grid = SeatGrid(rows: event.rows, cols: event.cols)
        let unknown = seatIDs.filter { !grid.contains($0) }
        guard unknown.isEmpty else {
            throw PulseError.seats(
                422, .seatNotFound, "No such seats in this venue: \(unknown.prefix(10).joined(separator: ", ")).",
                unknown.map { String($0.prefix(16)) })
        }
        return seatIDs
    }
}

extension EventRecord {
    /// When the event takes place, in ms (nil only for a date this server did not write).
    var startsAtMs: Int64? { ISOTime.parse(date) }

    /// Throws 409 `event_inactive` unless the event takes holds and bookings at `nowMs`: it is
    /// active and has not begun (PB-EVENT-5, PB-EVENT-8).
    func requireOpen(nowMs: Int64, startsAtMs: Int64? = nil) throws {
        guard isActive else { throw PulseError.eventInactive }
        if let starts = startsAtMs ?? self.startsAtMs, nowMs >= starts { throw PulseError.eventPast }
    }
}
