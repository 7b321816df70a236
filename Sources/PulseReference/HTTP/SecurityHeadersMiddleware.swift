import Hummingbird

/// Adds defensive headers to every response (PB-SEC-1), as the seed's helmet does.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for field in securityHeaders where response.headers[field.name] == nil { response.headers.append(field) }
        return response
    }
}

/// The headers of ``SecurityHeadersMiddleware``, made once.
private let securityHeaders: HTTPFields = [
    .init("X-Content-Type-Options")!: "nosniff",
    .init("X-Frame-Options")!: "DENY",
    .init("Referrer-Policy")!: "no-referrer",
    .init("Content-Security-Policy")!: "default-src 'none'; frame-ancestors 'none'",
    .init("Cross-Origin-Opener-Policy")!: "same-origin",
    .init("Cross-Origin-Resource-Policy")!: "same-origin",
    .init("X-DNS-Prefetch-Control")!: "off",
]
