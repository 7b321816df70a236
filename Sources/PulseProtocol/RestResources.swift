/// Resources returned by the REST API inside the success envelope's `data`.

/// A user as the API shows it; never carries the password hash.
public struct UserResource: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var email: String
    public var role: String
    public init(id: String, name: String, email: String, role: String) {
        self.id = id
        self.name = name
        self.email = email
        self.role = role
    }
}

/// An event with its venue and live availability.
public struct EventResource: Codable, Sendable, Equatable {
    public var id: String
    public var title: String
    public var venue: String
    public var date: String
    public var description: String?
    public var isActive: Bool
    public var venueConfig: VenueConfig
    public var totalSeats: Int
    /// Seats with no confirmed booking (held seats count as available; PB-EVENT-2).
    public var availableSeats: Int
    public init(
        id: String, title: String, venue: String, date: String, description: String?, isActive: Bool,
        venueConfig: VenueConfig, totalSeats: Int, availableSeats: Int
    ) {
        self.id = id
        self.title = title
        self.venue = venue
        self.date = date
        self.description = description
        self.isActive = isActive
        self.venueConfig = venueConfig
        self.totalSeats = totalSeats
        self.availableSeats = availableSeats
    }
}

/// Status of one seat in the merged seat map (PB-SEAT-2).
public enum SeatStatus: String, Codable, Sendable {
    case available, locked, booked
}

/// One seat of the merged seat map.
public struct SeatResource: Codable, Sendable, Equatable {
    public var id: String
    public var label: String
    public var row: String
    public var number: Int
    public var price: Double
    public var status: SeatStatus
    /// User id of the holder when `status` is `locked`.
    public var lockedBy: String?
    public init(id: String, label: String, row: String, number: Int, price: Double, status: SeatStatus, lockedBy: String?) {
        self.id = id
        self.label = label
        self.row = row
        self.number = number
        self.price = price
        self.status = status
        self.lockedBy = lockedBy
    }
}

/// A granted hold (PB-HOLD-2). `id` is the hold's secret token: only its owner sees it.
public struct HoldResource: Codable, Sendable, Equatable {
    public var id: String
    public var eventId: String
    public var seatIds: [String]
    /// ISO 8601 instant (UTC, milliseconds) at which the hold lapses.
    public var expiresAt: String
    /// Monotonically increasing fencing number of this grant (PB-HOLD-7).
    public var fence: Int64
    public init(id: String, eventId: String, seatIds: [String], expiresAt: String, fence: Int64) {
        self.id = id
        self.eventId = eventId
        self.seatIds = seatIds
        self.expiresAt = expiresAt
        self.fence = fence
    }
}

/// A confirmed booking (PB-CHECKOUT-2).
public struct BookingResource: Codable, Sendable, Equatable {
    public var id: String
    public var eventId: String
    public var userId: String
    public var seatIds: [String]
    public var totalAmount: Double
    /// `confirmed` or `cancelled`.
    public var status: String
    public var createdAt: String
    /// When it was cancelled (PB-CHECKOUT-8); absent for a confirmed booking.
    public var cancelledAt: String?
    /// The reason given by whoever cancelled it, if any.
    public var cancellationReason: String?
    public init(
        id: String, eventId: String, userId: String, seatIds: [String], totalAmount: Double, status: String, createdAt: String,
        cancelledAt: String? = nil, cancellationReason: String? = nil
    ) {
        self.id = id
        self.eventId = eventId
        self.userId = userId
        self.seatIds = seatIds
        self.totalAmount = totalAmount
        self.status = status
        self.createdAt = createdAt
        self.cancelledAt = cancelledAt
        self.cancellationReason = cancellationReason
    }
}
