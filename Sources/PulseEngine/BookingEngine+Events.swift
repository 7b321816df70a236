import PulseProtocol

extension BookingEngine {
    /// Creates an event and, implicitly, its seat grid (PB-EVENT-3). The grid is derived from
    /// `rows` × `cols`, so creation is one atomic insert.
    public func createEvent(_ request: CreateEventRequest) async throws -> EventResource {
        let fields = try EventFields.validate(title: request.title, venue: request.venue, date: request.date, description: request.description)
        let config = request.venueConfig
        guard (1...SeatGrid.rowsMax).contains(config.rows) else {
            throw PulseError.invalid("venueConfig.rows", "rows must be 1...\(SeatGrid.rowsMax).")
        }
        guard (1...SeatGrid.colsMax).contains(config.cols) else {
            throw PulseError.invalid("venueConfig.cols", "cols must be 1...\(SeatGrid.colsMax).")
        }
        guard let cents = Money.cents(from: config.price), cents <= Money.seatPriceCentsMax else {
            throw PulseError.invalid("venueConfig.price", "price must be 0...\(Money.seatPriceCentsMax / 100) with at most two decimals.")
        }
        let event = EventRecord(
            id: ids.entityID(), title: fields.title, venue: fields.venue, date: fields.date, description: fields.description,
            isActive: true, rows: config.rows, cols: config.cols, priceCents: cents, createdAtMs: clock.nowMs())
        try await onDurable(mutating: true) { try await durable.createEvent(event) }
        return event.resource(bookedSeats: 0)
    }

    /// Active events, soonest first, each with its count of unbooked seats (PB-EVENT-2).
    public func listEvents() async throws -> [EventResource] {
        try await onDurable {
            let events = try await durable.activeEvents()
            let booked = try await durable.bookedSeatCounts(eventIDs: events.map(\.id))
            return events.map { $0.resource(bookedSeats: booked[$0.id, default: 0]) }
        }
    }

    /// One event (active or not, but not deleted).
    public func event(_ eventID: String) async throws -> EventResource {
        let event = try await existingEvent(eventID)
        let booked = try await onDurable { try await durable.bookedSeatCounts(eventIDs: [eventID]) }
        return event.resource(bookedSeats: booked[eventID, default: 0])
    }

    /// Changes an event's descriptive fields; the venue is immutable (PB-EVENT-6).
    public func updateEvent(_ eventID: String, _ request: UpdateEventRequest) async throws -> EventResource {
        guard request.venueConfig == nil else {
            throw PulseError(status: 400, code: .venueConfigImmutable, message: "venueConfig cannot be changed after creation.")
        }
        var event = try await existingEvent(eventID)
        let fields = try EventFields.validate(
            title: request.title ?? event.title, venue: request.venue ?? event.venue,
            date: request.date ?? event.date, description: request.description ?? event.description)
        event.title = fields.title
        event.venue = fields.venue
        event.date = fields.date
        event.description = fields.description
        event.isActive = request.isActive ?? event.isActive
        try await onDurable(mutating: true) { try await durable.updateEvent(event) }
        try await changed(eventID)
        if event.isActive {
            // A reopened event may have been inactive at start-up, when only active events were warmed up.
            try await loadSoldSeats(eventID)
        }
        return try await self.event(eventID)
    }

    /// Deletes an event: gone from listings and closed to holds; its bookings stay.
    public func deleteEvent(_ eventID: String) async throws {
        try Self.requireEntityID(eventID, "event")
        guard try await onDurable(mutating: true, { try await durable.deleteEvent(id: eventID) }) else { throw PulseError.eventNotFound }
        try await changed(eventID)
        try await onHot { try await hot.dropEvent(eventID: eventID) }
    }

    /// After an event's durable record changed: every instance's cached copy becomes stale (the
    /// hot store's stamp moves on) and this one's is dropped. A 503 here leaves the change made
    /// but its outcome unknown to the caller; caches then lapse within ``EventCache/maxAgeMs``.
    private func changed(_ eventID: String) async throws {
        eventCache.forget(eventID)
        try await onHot { try await hot.touchEvent(eventID: eventID) }
    }

    /// The merged seat map at one seq: the venue's grid, overlaid with the hot store's holds and
    /// booked seats read in one atomic step (PB-SEAT-2).
    public func seatMap(_ eventID: String) async throws -> (seq: Int64, seats: [SeatResource]) {
        let event = try await existingEvent(eventID)
        var snapshot = try await onHot(mutating: false) { try await hot.snapshot(eventID: eventID, nowMs: clock.nowMs()) }
        if !event.isActive {
            // Inactive events are not warmed up at start-up: the durable store knows their sold seats.
            snapshot.booked.formUnion(try await onDurable { try await durable.bookedSeats(eventID: eventID) }.keys)
        }
        let grid = SeatGrid(rows: event.rows, cols: event.cols)
        let price = Money.amount(fromCents: event.priceCents)
        let seats = grid.labels.map { label -> SeatResource in
            let (row, number) = grid.locate(label)!
            let status: SeatStatus = snapshot.booked.contains(label) ? .booked : snapshot.lockedBy[label] != nil ? .locked : .available
            return SeatResource(
                id: label, label: label, row: row, number: number, price: price, status: status,
                lockedBy: status == .locked ? snapshot.lockedBy[label] : nil)
        }
        return (snapshot.seq, seats)
    }
}

extension BookingEngine {
    /// The event's changes after `afterSeq` from the hot store's log, or `.trimmed` (PB-LIVE-8).
    public func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        try await onHot(mutating: false) { try await hot.changes(eventID: eventID, afterSeq: afterSeq) }
    }
}

/// Validation of an event's descriptive fields.
enum EventFields {
    static let textLengthMax = 200
    static let descriptionLengthMax = 2000

    static func validate(title: String, venue: String, date: String, description: String?) throws -> (
        title: String, venue: String, date: String, description: String?
    ) {
        let title = title.trimmingWhitespace()
        let venue = venue.trimmingWhitespace()
        guard (1...textLengthMax).contains(title.unicodeScalars.count) else {
            throw PulseError.invalid("title", "title must be 1...\(textLengthMax) characters.")
        }
        guard (1...textLengthMax).contains(venue.unicodeScalars.count) else {
            throw PulseError.invalid("venue", "venue must be 1...\(textLengthMax) characters.")
        }
        guard let ms = ISOTime.parse(date) else { throw PulseError.invalid("date", "date must be an ISO 8601 date or date-time.") }
        if let description, description.unicodeScalars.count > descriptionLengthMax {
            throw PulseError.invalid("description", "description must be at most \(descriptionLengthMax) characters.")
        }
        return (title, venue, ISOTime.format(ms: ms), description)
    }
}

extension String {
    /// Without leading and trailing Unicode White_Space, by code point, as the OpenAPI document's
    /// patterns read text (a character that starts with a space may carry a combining mark).
    public func trimmingWhitespace() -> String {
        let scalars = Array(unicodeScalars)
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        var kept = String.UnicodeScalarView()
        kept.append(contentsOf: scalars[first...last])
        return String(kept)
    }
}

extension EventRecord {
    func resource(bookedSeats: Int) -> EventResource {
        EventResource(
            id: id, title: title, venue: venue, date: date, description: description, isActive: isActive,
            venueConfig: VenueConfig(rows: rows, cols: cols, price: Money.amount(fromCents: priceCents)),
            totalSeats: rows * cols, availableSeats: rows * cols - bookedSeats)
    }
}
