import Hummingbird
import Metrics

/// Records every request's latency and status in the injected metrics factory (PB-OPS-2):
/// `pulse_http_request_duration_seconds{method,route,status}` and `pulse_http_requests_total`.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = PulseRequestContext
    let factory: any MetricsFactory

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let dimensions = [("method", request.method.rawValue), ("route", context.endpointPath ?? "unmatched"), ("status", String(response.status.code))]
        let elapsed = ContinuousClock.now - start
        Timer(label: "pulse_http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: factory)
            .recordNanoseconds(elapsed.nanoseconds)
        Counter(label: "pulse_http_requests_total", dimensions: dimensions, factory: factory).increment()
        return response
    }
}
