import Metrics

/// The engine's counters (exported by the server at `/metrics`; PB-OPS-2). Built from an injected
/// factory, so that tests and several servers in one process never share a global registry.
public struct EngineMetrics: Sendable {
    let holdsGranted: Counter
    let holdConflicts: Counter
    let seatsReleased: Counter
    let seatsExpired: Counter
    let bookings: Counter
    let bookedSeats: Counter
    let checkoutConflicts: Counter
    let lapsedCheckouts: Counter
    let cancellations: Counter
    let cancelledSeats: Counter

    public init(factory: any MetricsFactory) {
        holdsGranted = Counter(label: "pulse_holds_granted_total", factory: factory)
        holdConflicts = Counter(label: "pulse_hold_conflicts_total", factory: factory)
        seatsReleased = Counter(label: "pulse_seats_released_total", factory: factory)
        seatsExpired = Counter(label: "pulse_seats_expired_total", factory: factory)
        bookings = Counter(label: "pulse_bookings_total", factory: factory)
        bookedSeats = Counter(label: "pulse_booked_seats_total", factory: factory)
        checkoutConflicts = Counter(label: "pulse_checkout_conflicts_total", factory: factory)
        lapsedCheckouts = Counter(label: "pulse_lapsed_checkouts_total", factory: factory)
        cancellations = Counter(label: "pulse_cancellations_total", factory: factory)
        cancelledSeats = Counter(label: "pulse_cancelled_seats_total", factory: factory)
    }

    /// Metrics that go nowhere.
    public static var discarded: EngineMetrics { EngineMetrics(factory: NOOPMetricsHandler.instance) }
}
