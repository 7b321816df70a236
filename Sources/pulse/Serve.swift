import ArgumentParser
import Foundation
import Hummingbird
import Logging
import PulseEngine
import PulseMutants
import PulseRedis
import PulseReference

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the reference server (REST under /api/v1, WebSocket at /api/v1/live).",
        discussion: """
            Environment: PULSE_HOST, PULSE_PORT, PULSE_DATA_DIR, PULSE_HOLD_TTL, PULSE_MAX_HELD_SEATS, \
            PULSE_BCRYPT_COST, PULSE_AUTH_RATE_LIMIT, PULSE_USER_RATE_SCALE, PULSE_LOG_LEVEL, PULSE_REDIS_URL, PULSE_MONGO_URL, PULSE_CORS_ORIGINS (flags win), and \
            PULSE_JWT_SECRET (at least 32 bytes; a random one is generated and logged as such if unset), \
            PULSE_JWT_TTL (seconds, default 86400), PULSE_ADMIN_EMAIL and PULSE_ADMIN_PASSWORD (an admin \
            created or promoted at start). SIGTERM or SIGINT shut down gracefully: requests in flight \
            finish, and every acknowledged booking is already durable.
            """)

    @Option(help: "Address to listen on (PULSE_HOST).") var host: String?
    @Option(help: "Port to listen on; 0 picks a free one (PULSE_PORT).") var port: Int?
    @Option(help: "Directory of the SQLite database (PULSE_DATA_DIR).") var dataDir: String?
    @Option(help: "Hold lifetime in seconds, 1...3600 (PULSE_HOLD_TTL).") var holdTtl: Int?
    @Option(help: "Seats one user may hold at once per event (PULSE_MAX_HELD_SEATS).") var maxHeldSeats: Int?
    @Option(help: "bcrypt cost, 4...31 (PULSE_BCRYPT_COST).") var bcryptCost: Int?
    @Option(help: "Sign-up and log-in attempts per client address per 15 minutes, shared by every instance on one Redis (PULSE_AUTH_RATE_LIMIT).")
    var authRateLimit: Int?
    @Option(
        help: ArgumentHelp(
            "Multiplies the per-user limits on holds (10/s, bursts of 30), checkouts (2/s, 10) and live messages (20/s, 60); 0 turns them off (PULSE_USER_RATE_SCALE).",
            valueName: "factor"))
    var userRateScale: Double?
    @Option(help: "trace, debug, info, notice, warning, error or critical (PULSE_LOG_LEVEL).") var logLevel: String?
    @Option(help: "Keep hot state in Redis at this redis://[user[:password]@]host[:port][/db] URL instead of in memory (PULSE_REDIS_URL).")
    var redis: String?
    @Option(
        help:
            "Keep durable state (users, events, bookings) in MongoDB at this mongodb://host[:port][/database][?options] URL instead of SQLite under --data-dir (PULSE_MONGO_URL)."
    )
    var mongo: String?
    @Option(
        name: .customLong("cors-origin"),
        help:
            "A browser origin (scheme://host[:port]) allowed to call the API cross-origin; repeat for more (PULSE_CORS_ORIGINS, comma-separated). None by default."
    )
    var corsOrigins: [String] = []
    @Option(
        help:
            "Serve the browser app at / from this directory, read on every request (to work on the app), instead of the files shipped with the binary."
    )
    var webDir: String?
    @Flag(help: "Serve no browser app at /.") var noWebApp = false
    @Option(
        help:
            "Run with a known defect, to prove a harness catches it: \(Mutant.allCases.map(\.rawValue).joined(separator: ", ")). Never in production."
    )
    var mutant: String?
    @Flag(
        help:
            "Offer the test-control profile of SPEC.md §14 for `pulse conform` (an admin token on request, short hold TTLs, named rate-limit clients, stalls). Never in production."
    )
    var testControl = false

    func run() async throws {
        var logger = Logger(label: "pulse")
        let level = logLevel ?? environment("PULSE_LOG_LEVEL") ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level) else { throw ValidationError("unknown log level '\(level)'") }
        logger.logLevel = parsedLevel

        var secret = environment("PULSE_JWT_SECRET") ?? ""
        if secret.isEmpty {
            secret = SecureIdentifierSource().hex(bytes: 32)
            logger.warning("PULSE_JWT_SECRET is not set: generated an ephemeral secret for this development run; tokens will not survive a restart")
        }
        guard secret.utf8.count >= 32 else { throw ValidationError("PULSE_JWT_SECRET must be at least 32 bytes") }
        var config = ServerConfiguration(jwtSecret: secret)
        config.dataDirectory = dataDir ?? environment("PULSE_DATA_DIR") ?? "./pulse-data"
        config.engine.holdTTLSeconds = try number(holdTtl, "PULSE_HOLD_TTL") ?? 600
        config.engine.heldSeatsPerUserMax = try number(maxHeldSeats, "PULSE_MAX_HELD_SEATS") ?? 10
        config.engine.seatsPerHoldMax = min(config.engine.seatsPerHoldMax, config.engine.heldSeatsPerUserMax)
        if let problem = config.engine.validationProblem() { throw ValidationError(problem) }
        let cost = try number(bcryptCost, "PULSE_BCRYPT_COST") ?? 12
        guard (4...31).contains(cost) else { throw ValidationError("bcrypt cost must be 4...31") }
        config.bcryptCost = UInt8(cost)
        config.authRateLimit.attempts = try number(authRateLimit, "PULSE_AUTH_RATE_LIMIT") ?? 10
        guard config.authRateLimit.attempts > 0 else { throw ValidationError("the auth rate limit must be at least 1") }
        if let scale = try userRateScale
            ?? environment("PULSE_USER_RATE_SCALE").map({ text in
                guard let value = Double(text) else { throw ValidationError("PULSE_USER_RATE_SCALE must be a number, not '\(text)'") }
                return value
            })
        {
            guard scale >= 0, scale.isFinite else { throw ValidationError("the user rate scale must be 0 or more") }
            config.userRateLimits = config.userRateLimits.scaled(by: scale)
        }
        guard config.authRateLimit.attempts > 0 else { throw ValidationError("auth rate limit must be positive") }
        if let ttl = try number(nil, "PULSE_JWT_TTL") { config.jwtLifetimeSeconds = ttl }
        config.adminEmail = environment("PULSE_ADMIN_EMAIL")
        config.adminPassword = environment("PULSE_ADMIN_PASSWORD")

        config.testControl = testControl
        config.webApp = noWebApp ? .none : webDir.map { .directory($0) } ?? .bundled
        config.corsOrigins =
            corsOrigins.isEmpty
            ? (environment("PULSE_CORS_ORIGINS") ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
            : corsOrigins
        if let bad = config.corsOrigins.first(where: { !PulseServer.isCORSOrigin($0) }) {
            throw ValidationError("'\(bad)' is not an origin: scheme://host[:port], http or https, no path")
        }
        if testControl { logger.warning("test control is on: any caller can get an admin token; never expose this server") }
        if let mutant {
            guard let parsed = Mutant(rawValue: mutant) else {
                throw ValidationError("unknown mutant '\(mutant)'; one of \(Mutant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            config.hooks.hotStore = { parsed.decorate($0, wait: { try? await Task.sleep(for: .milliseconds($0)) }) }
            config.hooks.catchUp = parsed.catchUp
            logger.warning(
                "running with a known defect: this server is broken on purpose",
                metadata: ["mutant": "\(parsed.rawValue)", "defect": "\(parsed.summary)"])
        }
        var hotStore: PulseServer.HotStoreFactory?
        if let url = redis ?? environment("PULSE_REDIS_URL") {
            let redisConfiguration: RedisConfiguration
            do { redisConfiguration = try RedisConfiguration(url: url) } catch { throw ValidationError("\(error)") }
            hotStore = { durable in RedisHotStore(client: RedisClient(redisConfiguration), recovery: .from(durable)) }
            logger.info(
                "hot state in Redis",
                metadata: [
                    "host": "\(redisConfiguration.host)", "port": "\(redisConfiguration.port)",
                    "database": "\(redisConfiguration.database)",
                ])
        }
        let durableStore = try mongoStore(mongo ?? environment("PULSE_MONGO_URL"), logger: logger)
        let server = try await PulseServer.make(config, hotStore: hotStore, durableStore: durableStore, logger: logger)
        let host = host ?? environment("PULSE_HOST") ?? "127.0.0.1"
        let port = try number(port, "PULSE_PORT") ?? 5000
        logger.info(
            "pulse serve",
            metadata: [
                "host": "\(host)", "port": "\(port)", "durable": "\(durableStore == nil ? config.dataDirectory ?? "-" : "MongoDB")",
                "holdTTLSeconds": "\(config.engine.holdTTLSeconds)",
            ])
        try await server.makeApplication(host: host, port: port).runService()
    }

    private func number(_ flag: Int?, _ variable: String) throws -> Int? {
        if let flag { return flag }
        guard let text = environment(variable) else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(variable) must be an integer, not '\(text)'") }
        return value
    }
}
