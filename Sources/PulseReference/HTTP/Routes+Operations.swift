import Hummingbird
import PulseEngine
import PulseProtocol

extension PulseServer {
    /// `GET /readyz` (PB-OPS-3): 200 when the hot and the durable store both answer, else 503
    /// `store_unavailable` naming which does not. The stores' own error text goes to the log only.
    func addReadinessRoute(to router: Router<PulseRequestContext>) {
        let engine = engine
        router.get("readyz") { _, _ -> Response in
            let (hot, durable) = await engine.readiness()
            if hot == nil, durable == nil { return JSONResponse.success(Readiness(hotStore: "ready", durableStore: "ready")) }
            let message =
                switch (hot, durable) {
                case (_?, nil): "Not ready: the hot store does not answer."
                case (nil, _?): "Not ready: the durable store does not answer."
                default: "Not ready: neither the hot nor the durable store answers."
                }
            var error = PulseError(status: 503, code: .storeUnavailable, message: message)
            error.retryAfterSeconds = 1
            error.logDetail = "hot store: \(hot ?? "ready"); durable store: \(durable ?? "ready")"
            throw error
        }
    }
}

/// The body of a ready `GET /readyz`.
struct Readiness: Encodable {
    var hotStore: String
    var durableStore: String
}
