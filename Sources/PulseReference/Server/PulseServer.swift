import Hummingbird
import HummingbirdWebSocket
import Logging
import Metrics
import Prometheus
import PulseEngine
import PulseLive
import ServiceLifecycle

/// Everything a running reference server is made of, wired together: the engine, accounts,
/// the live hub, limiters and metrics. ``makeApplication(host:port:)`` turns it into a
/// Hummingbird application whose services (hub, sweeper) run in its service group.
public final class PulseServer: Sendable {
    public let engine: BookingEngine
    public let accounts: AccountService
    public let hub: LiveHub
    public let registry: PrometheusCollectorRegistry
    let metricsFactory: PrometheusMetricsFactory
    /// Sign-up and log-in attempts per client address, counted in the hot store (PB-AUTH-6).
    let authRateLimit: AuthRateLimit
    /// Per-user limits on holds, checkouts and live messages (PB-LIMIT-4).
    let userLimiters: UserLimiters
    let liveConnections: Meter
    let sweepInterval: Duration
    /// Whether the test-control profile (SPEC.md §14) is offered.
    let testControl: Bool
    /// Origins allowed cross-origin (PB-SEC-3).
    let corsOrigins: Set<String>
    /// The hot store itself when it runs as a service (Redis follows other instances' changes).
    let hotStoreService: (any Service)?
    /// The browser app served at `/`; nil serves none.
    let webApp: WebApp?
    let logger: Logger

    /// Limits of the auth routes: attempts per client address per window (the seed's 10 per 15 min).
    public struct AuthRateLimit: Sendable {
        public var attempts: Int
        public var windowSeconds: Int
        public init(attempts: Int = 10, windowSeconds: Int = 900) {
            self.attempts = attempts
            self.windowSeconds = windowSeconds
        }
    }

    public init(
        engine: BookingEngine, accounts: AccountService, registry: PrometheusCollectorRegistry,
        authRateLimit: AuthRateLimit = .init(), userRateLimits: UserRateLimits = .init(), sweepInterval: Duration = .milliseconds(250),
        testControl: Bool = false, corsOrigins: [String] = [],
        hotStoreService: (any Service)? = nil, catchUp: any LiveCatchUp = LogCatchUp(), webApp: WebApp? = nil, logger: Logger
    ) {
        self.engine = engine
        self.accounts = accounts
        self.registry = registry
        self.metricsFactory = PrometheusMetricsFactory(registry: registry)
        self.hub = LiveHub(engine: engine, catchUp: catchUp)
        self.hotStoreService = hotStoreService
        self.webApp = webApp
        precondition(authRateLimit.attempts > 0 && authRateLimit.windowSeconds > 0, "auth rate limits are positive")
        self.authRateLimit = authRateLimit
        userLimiters = UserLimiters(userRateLimits, clock: engine.clock)
        liveConnections = Meter(label: "pulse_live_connections", factory: metricsFactory)
        self.sweepInterval = sweepInterval
        self.testControl = testControl
        precondition(corsOrigins.allSatisfy(Self.isCORSOrigin), "CORS origins are scheme://host[:port]")
        self.corsOrigins = Set(corsOrigins)
        self.logger = logger
    }

    /// Connections the kernel queues before the server accepts them: a join storm opens thousands
    /// at once (Hummingbird's default of 256 drops the rest's SYNs, and they retry a second later).
    /// The kernel caps it at `net.core.somaxconn`.
    public static let listenBacklog = 4096

    /// The HTTP router with every route of SPEC.md.
    public func buildRouter() -> Router<PulseRequestContext> {
        let router = Router(context: PulseRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        if let webApp { router.add(middleware: WebAppMiddleware(app: webApp)) }
        if !corsOrigins.isEmpty { router.add(middleware: CORSPolicyMiddleware(origins: corsOrigins)) }
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: RequestMetricsMiddleware(factory: metricsFactory))
        let routes = RouteTable()
        router.add(middleware: ErrorMiddleware(routes: routes))
        if testControl { router.add(middleware: TestControlMiddleware()) }
        let api = router.group("api/v1")
        if testControl { addTestControlRoutes(to: api) }
        addUserRoutes(to: api)
        addEventRoutes(to: api)
        addBookingRoutes(to: api)
        addLiveFallbackRoute(to: api)
        let registry = registry
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let openAPI = ByteBuffer(string: OpenAPIDocument.json(configuration: engine.configuration))
        router.get("openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: openAPI))
        }
        let asyncAPI = ByteBuffer(string: AsyncAPIDocument.json())
        router.get("asyncapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: asyncAPI))
        }
        let healthy = JSONResponse.success(["ok": true])
        router.get("healthz") { _, _ -> Response in healthy }
        addReadinessRoute(to: router)
        routes.load(router.routes.map { ($0.path.description, $0.method.rawValue) })
        return router
    }

    /// An application listening on `host:port` (port 0 picks a free one) with the live
    /// WebSocket, the live hub and the expiry sweeper.
    public func makeApplication(host: String = "127.0.0.1", port: Int = 5000) -> some ApplicationProtocol {
        var app = Application(
            router: buildRouter(),
            server: .http1WebSocketUpgrade(
                webSocketRouter: buildWebSocketRouter(),
                configuration: .init(ws: .init(maxFrameSize: Self.webSocketFrameBytesMax))),
            configuration: .init(address: .hostname(host, port: port), serverName: "pulse", backlog: Self.listenBacklog),
            logger: logger)
        app.addServices(hub, ExpirySweeper(engine: engine, interval: sweepInterval, logger: logger))
        // A shared hot store (Redis) follows the changes other instances make.
        if let hotStoreService { app.addServices(hotStoreService) }
        return app
    }
}
