import PulseProtocol

/// An operating error of the engine or server: a client mistake, a conflict, or an unavailable
/// store. Every case carries the HTTP status and the stable ``ErrorCode`` it is reported with
/// (SPEC.md PB-ERR). Programmer errors are `precondition`s instead.
public struct PulseError: Error, Sendable, Equatable {
    /// HTTP status (4xx for the client's mistakes and conflicts, 5xx for the server's troubles).
    public var status: Int
    public var code: ErrorCode
    public var message: String
    /// Seats the error is about (conflicts, unknown seats).
    public var seatIds: [String]? = nil
    /// The field a validation error is about.
    public var field: String? = nil
    /// The server's price when a client's `totalAmount` disagreed.
    public var expectedAmount: Double? = nil
    /// True when the server cannot tell whether the operation took effect.
    public var outcomeUnknown: Bool? = nil
    /// Seconds to wait before retrying (also sent as `Retry-After`).
    public var retryAfterSeconds: Int? = nil
    /// What went wrong inside, for the server's log only: never in a response (PB-ERR-1).
    public var logDetail: String? = nil

    public init(status: Int, code: ErrorCode, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// A 400 `validation_failed` about one field.
    public static func invalid(_ field: String, _ message: String) -> PulseError {
        var error = PulseError(status: 400, code: .validationFailed, message: message)
        error.field = field
        return error
    }

    /// A 4xx error about some seats.
    public static func seats(_ status: Int, _ code: ErrorCode, _ message: String, _ seatIds: [String]) -> PulseError {
        var error = PulseError(status: status, code: code, message: message)
        error.seatIds = seatIds
        return error
    }

    public static let eventNotFound = PulseError(status: 404, code: .eventNotFound, message: "No event found with that ID")
    public static let eventInactive = PulseError(status: 409, code: .eventInactive, message: "This event is not open for booking.")
    public static let eventPast = PulseError(status: 409, code: .eventInactive, message: "This event has already taken place.")
    public static let holdNotFound = PulseError(status: 404, code: .holdNotFound, message: "No hold of yours with that ID")
    public static let bookingNotFound = PulseError(status: 404, code: .bookingNotFound, message: "No booking of yours with that ID")
    public static let cancellationClosed = PulseError(
        status: 409, code: .cancellationClosed,
        message: "This event has taken place: its bookings can no longer be cancelled.")

    /// A store could not answer; the operation may or may not have taken effect. `detail` (the
    /// store's own error text, which may carry SQL or addresses) goes to the log, not the message.
    public static func storeUnavailable(_ detail: String, outcomeUnknown: Bool) -> PulseError {
        var error = PulseError(status: 503, code: .storeUnavailable, message: "Storage is unavailable. Retry later.")
        error.logDetail = detail
        error.outcomeUnknown = outcomeUnknown
        error.retryAfterSeconds = 1
        return error
    }
}

extension PulseError {
    /// `error` itself when it is a ``PulseError``, else a 500 `internal_error` that says nothing
    /// of its cause (PB-ERR-1).
    public static func from(_ error: any Error) -> PulseError {
        error as? PulseError ?? PulseError(status: 500, code: .internalError, message: "Something went wrong!")
    }
}
