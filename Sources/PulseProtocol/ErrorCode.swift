/// Stable machine-readable error codes of the Pulse Booking Protocol (SPEC.md, PB-ERR-2).
///
/// Clients branch on these strings, never on `message`. A code is never renamed or reused;
/// new codes may be added.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    // Request shape
    case malformedJSON = "malformed_json"
    case validationFailed = "validation_failed"
    case payloadTooLarge = "payload_too_large"
    case routeNotFound = "route_not_found"
    case invalidID = "invalid_id"
    // Authentication and authorisation
    case unauthenticated = "unauthenticated"
    case invalidToken = "invalid_token"
    case tokenExpired = "token_expired"
    case forbidden = "forbidden"
    case invalidCredentials = "invalid_credentials"
    case emailTaken = "email_taken"
    case rateLimited = "rate_limited"
    // Events and seats
    case eventNotFound = "event_not_found"
    case eventInactive = "event_inactive"
    case seatNotFound = "seat_not_found"
    case venueConfigImmutable = "venue_config_immutable"
    // Holds
    case seatUnavailable = "seat_unavailable"
    case holdLimitExceeded = "hold_limit_exceeded"
    case holdNotFound = "hold_not_found"
    case holdExpired = "hold_expired"
    case holdRequired = "hold_required"
    case checkoutInProgress = "checkout_in_progress"
    // Checkout
    case amountMismatch = "amount_mismatch"
    case idempotencyKeyReused = "idempotency_key_reused"
    case idempotencyInProgress = "idempotency_in_progress"
    case holdSuperseded = "hold_superseded"
    // Cancellation
    case bookingNotFound = "booking_not_found"
    case cancellationClosed = "cancellation_closed"
    // Live protocol
    case unknownMessageType = "unknown_message_type"
    case notJoined = "not_joined"
    case tooManySubscriptions = "too_many_subscriptions"
    case slowConsumer = "slow_consumer"
    case upgradeRequired = "upgrade_required"
    // Server side
    case storeUnavailable = "store_unavailable"
    case internalError = "internal_error"
}
