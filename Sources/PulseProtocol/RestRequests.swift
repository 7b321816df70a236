/// Request bodies of the REST API (SPEC.md, PB-USER, PB-EVENT, PB-HOLD, PB-CHECKOUT).
///
/// Optional fields are optional here; range checks live in the server's validators so that
/// every violation maps to `validation_failed` with the field's name.

/// `POST /api/v1/users/signup`. A `role` field is accepted and ignored (PB-USER-2).
public struct SignupRequest: Codable, Sendable {
    public var name: String
    public var email: String
    public var password: String
    public init(name: String, email: String, password: String) {
        self.name = name
        self.email = email
        self.password = password
    }
}

/// `POST /api/v1/users/login`.
public struct LoginRequest: Codable, Sendable {
    public var email: String
    public var password: String
    public init(email: String, password: String) {
        self.email = email
        self.password = password
    }
}

/// The venue part of `POST /api/v1/events`.
public struct VenueConfig: Codable, Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    /// Price of every seat, at most two decimals.
    public var price: Double
    public init(rows: Int, cols: Int, price: Double) {
        self.rows = rows
        self.cols = cols
        self.price = price
    }
}

/// `POST /api/v1/events` (admin).
public struct CreateEventRequest: Codable, Sendable {
    public var title: String
    public var venue: String
    /// ISO 8601 date-time.
    public var date: String
    public var description: String?
    public var venueConfig: VenueConfig
    public init(title: String, venue: String, date: String, description: String? = nil, venueConfig: VenueConfig) {
        self.title = title
        self.venue = venue
        self.date = date
        self.description = description
        self.venueConfig = venueConfig
    }
}

/// `PATCH /api/v1/events/:id` (admin). `venueConfig` is refused (PB-EVENT-6).
public struct UpdateEventRequest: Codable, Sendable {
    public var title: String?
    public var venue: String?
    public var date: String?
    public var description: String?
    public var isActive: Bool?
    public var venueConfig: VenueConfig?
    public init(title: String? = nil, venue: String? = nil, date: String? = nil, description: String? = nil, isActive: Bool? = nil) {
        self.title = title
        self.venue = venue
        self.date = date
        self.description = description
        self.isActive = isActive
    }
}

/// `POST /api/v1/events/:id/holds`.
public struct HoldRequest: Codable, Sendable {
    public var seatIds: [String]
    public init(seatIds: [String]) { self.seatIds = seatIds }
}

/// `POST /api/v1/events/:id/holds/:holdId/extend`. Without `seconds` the server's hold TTL is used.
public struct ExtendHoldRequest: Codable, Sendable {
    public var seconds: Int?
    public init(seconds: Int? = nil) { self.seconds = seconds }
}

/// `POST /api/v1/events/:id/seats` (checkout).
public struct CheckoutRequest: Codable, Sendable {
    public var seatIds: [String]
    public var holdId: String?
    /// If present, must equal the server's price or the checkout is refused (PB-CHECKOUT-4).
    public var totalAmount: Double?
    public init(seatIds: [String], holdId: String? = nil, totalAmount: Double? = nil) {
        self.seatIds = seatIds
        self.holdId = holdId
        self.totalAmount = totalAmount
    }
}

/// `POST /api/v1/bookings/:id/cancel`; the body is optional (PB-CHECKOUT-8).
public struct CancelBookingRequest: Codable, Sendable {
    /// 1...500 characters, kept with the cancelled booking.
    public var reason: String?
    public init(reason: String? = nil) { self.reason = reason }
}
