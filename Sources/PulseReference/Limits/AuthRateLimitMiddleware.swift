import Hummingbird
import Logging
import PulseEngine
import PulseProtocol

/// Limits sign-up and log-in attempts per client address (PB-AUTH-6): `limit.attempts` per
/// `limit.windowSeconds`, counted in the hot store, so every instance on one Redis shares the
/// count. 429 `rate_limited` with `Retry-After` beyond it. While the hot store cannot answer, the
/// attempt is let through (and logged): the routes themselves need only the durable store.
struct AuthRateLimitMiddleware: RouterMiddleware {
    typealias Context = PulseRequestContext
    let engine: BookingEngine
    let limit: PulseServer.AuthRateLimit
    let scope: String
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let retryAfter: Int?
        do {
            retryAfter = try await engine.countHit(
                key: "\(scope)|\(context.clientKey)", limit: limit.attempts, windowMs: Int64(limit.windowSeconds) * 1000)
        } catch let error as PulseError where error.code == .storeUnavailable {
            logger.warning(
                "the \(scope) limit could not be counted; the attempt is let through", metadata: ["detail": "\(error.logDetail ?? error.message)"])
            retryAfter = nil
        }
        if let retryAfter {
            var error = PulseError(status: 429, code: .rateLimited, message: "Too many attempts from this address, please try again later.")
            error.retryAfterSeconds = retryAfter
            throw error
        }
        return try await next(request, context)
    }
}
