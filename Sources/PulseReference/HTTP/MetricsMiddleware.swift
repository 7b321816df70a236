import Hummingbird
import Metrics
import PulseEngine

/// Records every request's latency and status in the injected metrics factory (PB-OPS-2):
/// `pulse_http_request_duration_seconds{method,route,status}` and `pulse_http_requests_total`.
/// The timer and counter of each (method, route, status) are made once and kept: making them
/// looks them up in the registry by label and dimensions, which cost more than the recording.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = PulseRequestContext
    let factory: any MetricsFactory
    private let instruments = BoundedCache<InstrumentKey, Instruments>(capacity: 4096)

    init(factory: any MetricsFactory) { self.factory = factory }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let key = InstrumentKey(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: response.status.code)
        let recorded = instruments[key] ?? make(key)
        recorded.duration.recordNanoseconds(elapsed.nanoseconds)
        recorded.requests.increment()
        return response
    }

    private func make(_ key: InstrumentKey) -> Instruments {
        let dimensions = [("method", key.method), ("route", key.route), ("status", String(key.status))]
        let made = Instruments(
            duration: Timer(label: "pulse_http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory),
            requests: Counter(label: "pulse_http_requests_total", dimensions: dimensions, factory: factory))
        instruments.store(made, for: key)
        return made
    }

    struct InstrumentKey: Hashable, Sendable {
        var method: String
        var route: String
        var status: Int
    }

    struct Instruments: Sendable {
        var duration: Timer
        var requests: Counter
    }
}
