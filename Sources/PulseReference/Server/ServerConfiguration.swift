import Foundation
import Logging
import Prometheus
import PulseEngine
import PulseLive
import PulseSQLite
import ServiceLifecycle

/// Everything `pulse serve` can be told (SPEC.md PB-OPS-1; README lists the flags and variables).
public struct ServerConfiguration: Sendable {
    public var engine = EngineConfiguration()
    /// Directory of the SQLite file `pulse.sqlite`; nil keeps the durable store in memory (tests).
    public var dataDirectory: String? = "./pulse-data"
    public var bcryptCost: UInt8 = 12
    /// HMAC secret of access tokens; at least 32 bytes.
    public var jwtSecret: String
    public var jwtLifetimeSeconds = 86_400
    public var authRateLimit = PulseServer.AuthRateLimit()
    /// Per-user limits on holds, checkouts and live messages (PB-LIMIT-4; `--user-rate-scale`).
    public var userRateLimits = UserRateLimits()
    /// An admin account to create or promote at start (`PULSE_ADMIN_EMAIL`, `PULSE_ADMIN_PASSWORD`).
    public var adminEmail: String?
    public var adminPassword: String?
    public var sweepInterval: Duration = .milliseconds(250)
    /// Offer the test-control profile of SPEC.md §14 (`--test-control`): never in production.
    public var testControl = false
    /// Browser origins (`scheme://host[:port]`) allowed to call the API cross-origin (PB-SEC-3;
    /// `--cors-origin`, `PULSE_CORS_ORIGINS`); none by default.
    public var corsOrigins: [String] = []
    /// The browser app at `/`: the one shipped with the binary, one read from a directory on
    /// every request (`--web-dir`), or none.
    public var webApp: WebAppSource = .bundled
    /// Test hooks put in at wiring time (`pulse serve --mutant`); none in production.
    public var hooks = WiringHooks()

    public init(jwtSecret: String) { self.jwtSecret = jwtSecret }

    /// Where ``webApp`` comes from.
    public enum WebAppSource: Sendable {
        case bundled
        case directory(String)
        case none
    }
}

extension PulseServer {
    /// Makes the hot store from the opened durable store (an adapter such as Redis).
    public typealias HotStoreFactory = @Sendable (any DurableStore) async throws -> any HotStore
    /// Opens the durable store (an adapter such as MongoDB).
    public typealias DurableStoreFactory = @Sendable () async throws -> any DurableStore

    /// Opens the stores, starts a new hot-state generation, loads booked seats, bootstraps the
    /// admin and wires a server. Time and randomness come from `clock` and `ids`. Without
    /// `hotStore` the hot state lives in this process's memory (``InMemoryHotStore``); without
    /// `durableStore` the durable state is SQLite under the data directory (``openSQLite(_:)``).
    public static func make(
        _ configuration: ServerConfiguration, clock: any EngineClock = SystemClock(),
        ids: any IdentifierSource = SecureIdentifierSource(), hotStore: HotStoreFactory? = nil,
        durableStore: DurableStoreFactory? = nil, logger: Logger
    ) async throws -> PulseServer {
        let durable: any DurableStore = if let durableStore { try await durableStore() } else { try openSQLite(configuration.dataDirectory) }
        let store: any HotStore =
            if let hotStore { try await hotStore(durable) } else { InMemoryHotStore(generation: try await durable.nextHotGeneration()) }
        var hot = store
        var engineDurable: any DurableStore = durable
        if configuration.testControl {
            hot = TestControlHotStore(hot, clock: clock)
            engineDurable = TestControlDurableStore(durable)
        }
        // Outermost, so that a multi-step defect's steps meet test control's stalls one by one.
        hot = configuration.hooks.hotStore(hot)
        let registry = PrometheusCollectorRegistry()
        let engine = BookingEngine(
            configuration: configuration.engine, hot: hot, durable: engineDurable, clock: clock, ids: ids,
            metrics: EngineMetrics(factory: PrometheusMetricsFactory(registry: registry)))
        try await engine.warmUp()
        let tokens = await TokenService(secret: configuration.jwtSecret, lifetimeSeconds: configuration.jwtLifetimeSeconds, clock: clock)
        let accounts = try await AccountService(
            durable: durable, tokens: tokens, hasher: PasswordHasher(cost: configuration.bcryptCost), ids: ids, clock: clock)
        if let email = configuration.adminEmail, let password = configuration.adminPassword {
            let admin = try await accounts.ensureAdmin(email: email, password: password)
            logger.info("admin account ready", metadata: ["email": "\(admin.email)"])
        }
        return PulseServer(
            engine: engine, accounts: accounts, registry: registry, authRateLimit: configuration.authRateLimit,
            // Test control's cases make more changes than any person would (SPEC.md §14).
            userRateLimits: configuration.testControl ? .off : configuration.userRateLimits,
            sweepInterval: configuration.sweepInterval, testControl: configuration.testControl,
            corsOrigins: configuration.corsOrigins, hotStoreService: store as? any Service, catchUp: configuration.hooks.catchUp,
            webApp: webApp(configuration.webApp, logger: logger), logger: logger)
    }
}

extension PulseServer {
    static func webApp(_ source: ServerConfiguration.WebAppSource, logger: Logger) -> WebApp? {
        switch source {
        case .none: return nil
        case .directory(let path): return WebApp(watching: path)
        case .bundled:
            guard let app = WebApp.bundled() else {
                logger.warning("the browser app's files are not beside the executable (Pulse_PulseReference.resources): / serves no app")
                return nil
            }
            return app
        }
    }

    /// SQLite in `pulse.sqlite` under `directory` (created if missing), or in memory when nil.
    public static func openSQLite(_ directory: String?) throws -> SQLiteDurableStore {
        guard let directory else { return try SQLiteDurableStore() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try SQLiteDurableStore(path: (directory as NSString).appendingPathComponent("pulse.sqlite"))
    }
}

/// Test hooks put in when the server is wired, never in production: a decorator around the hot
/// store and the live hub's catch-up strategy. PulseMutants (the known-broken variants) fills them
/// for `pulse serve --mutant`; the engine and the hub know nothing of it.
public struct WiringHooks: Sendable {
    /// Wraps the hot store the engine uses (identity by default).
    public var hotStore: @Sendable (any HotStore) -> any HotStore = { $0 }
    /// How the live hub catches up a (re)joining subscriber (``LogCatchUp`` by default).
    public var catchUp: any LiveCatchUp = LogCatchUp()

    public init() {}
}
