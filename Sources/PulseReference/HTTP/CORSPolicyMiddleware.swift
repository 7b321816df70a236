import Hummingbird

/// Cross-origin access for the configured origins only, none by default (PB-SEC-3): a browser
/// app on one of them may call the API with a bearer token; any other origin gets no CORS
/// headers, so the browser withholds the answer. Hummingbird's `CORSMiddleware` takes its origin
/// list only as variadic arguments and sends `Access-Control-Expose-Headers` on preflights alone
/// (a browser reads it on the actual answer), hence this small one.
struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Exact origins (`scheme://host[:port]`).
    let origins: Set<String>

    static var allowMethods: String { "GET, POST, PATCH, DELETE" }
    static var allowHeaders: String { "Authorization, Content-Type, Idempotency-Key" }
    static var exposeHeaders: String { "Retry-After, Idempotent-Replayed, X-Request-Id, Allow" }
    /// Seconds a browser may reuse a preflight's answer.
    static var maxAgeSeconds: String { "600" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], origins.contains(origin) else {
            var response = try await next(request, context)
            // Answers differ by origin: caches must keep them apart.
            if request.headers[.origin] != nil { response.headers[values: .vary].append("Origin") }
            return response
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            return Response(
                status: .noContent,
                headers: [
                    .accessControlAllowOrigin: origin, .accessControlAllowMethods: Self.allowMethods,
                    .accessControlAllowHeaders: Self.allowHeaders, .accessControlMaxAge: Self.maxAgeSeconds, .vary: "Origin",
                ])
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlExposeHeaders] = Self.exposeHeaders
        response.headers[values: .vary].append("Origin")
        return response
    }

    /// Whether `origin` is a browser origin: `http` or `https`, a host, an optional port, nothing else.
    static func isOrigin(_ origin: String) -> Bool {
        let parts = origin.split(separator: "://", maxSplits: 1)
        guard parts.count == 2, ["http", "https"].contains(parts[0]) else { return false }
        let hostPort = parts[1]
        guard !hostPort.isEmpty, !hostPort.contains("/"), !hostPort.contains("?"), !hostPort.contains("#"), !hostPort.contains("@") else {
            return false
        }
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            guard let port = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(port) else { return false }
        }
        return true
    }
}

extension PulseServer {
    /// Whether `origin` can be configured as a CORS origin (`http(s)://host[:port]`, nothing else).
    public static func isCORSOrigin(_ origin: String) -> Bool { CORSPolicyMiddleware<PulseRequestContext>.isOrigin(origin) }
}
