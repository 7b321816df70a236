import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PulseProtocol

@testable import PulseEngine
@testable import PulseReference

/// A reference server on in-memory stores, a manual clock and seeded ids, with an admin account.
struct TestServer {
    static let adminEmail = "admin@example.com"
    static let adminPassword = "admin-password"
    static let jwtSecret = String(repeating: "s", count: 40)

    let server: PulseServer
    let clock: ManualClock
    var engine: BookingEngine { server.engine }

    static func make(
        holdTTLSeconds: Int = 600, heldSeatsPerUserMax: Int = 10, authAttempts: Int = 10, seed: UInt64 = 1,
        hooks: WiringHooks = .init(), corsOrigins: [String] = [],
        userRateLimits: UserRateLimits = .off
    ) async throws -> TestServer {
        let clock = ManualClock()
        var config = ServerConfiguration(jwtSecret: jwtSecret)
        config.dataDirectory = nil
        config.bcryptCost = 4
        config.engine.holdTTLSeconds = holdTTLSeconds
        config.engine.heldSeatsPerUserMax = heldSeatsPerUserMax
        config.authRateLimit.attempts = authAttempts
        config.adminEmail = adminEmail
        config.adminPassword = adminPassword
        config.sweepInterval = .milliseconds(20)
        config.hooks = hooks
        config.corsOrigins = corsOrigins
        // Off unless a test is about them: the clock is manual, so buckets refill only when a test moves it.
        config.userRateLimits = userRateLimits
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let server = try await PulseServer.make(config, clock: clock, ids: SeededIdentifierSource(seed: seed), logger: logger)
        return TestServer(server: server, clock: clock)
    }

    /// The application on a free loopback port (for `.live` tests).
    func application() -> some ApplicationProtocol { server.makeApplication(host: "127.0.0.1", port: 0) }
}

/// A decoded JSON response.
struct JSONReply: @unchecked Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let json: [String: Any]

    var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    var code: String? { json["code"] as? String }
    func object(_ key: String) -> [String: Any] { data[key] as? [String: Any] ?? [:] }
}

extension TestClientProtocol {
    /// Sends a request with an optional JSON body and bearer token and decodes the JSON reply.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: Any? = nil, raw: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> JSONReply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        } else if let raw {
            headers[.contentType] = "application/json"
            body = ByteBuffer(string: raw)
        }
        // A request that waited too long for one of the test client's connections (a hundred at
        // once on a loaded machine) was never sent: it is sent again, a few times at most.
        for attempt in 1...5 {
            do {
                return try await execute(uri: uri, method: method, headers: headers, body: body) { response in
                    let bytes = Data(buffer: response.body)
                    let object = bytes.isEmpty ? [:] : (try? JSONSerialization.jsonObject(with: bytes)) as? [String: Any] ?? [:]
                    return JSONReply(status: response.status, headers: response.headers, json: object)
                }
            } catch let error as HTTPClientError where error == .getConnectionFromPoolTimeout && attempt < 5 {
                continue
            }
        }
        throw TestFailure("unreachable")
    }

    func token(email: String, password: String) async throws -> String {
        let reply = try await call(.post, "/api/v1/users/login", json: ["email": email, "password": password])
        guard let token = reply.json["token"] as? String else { throw TestFailure("login failed: \(reply.json)") }
        return token
    }

    func adminToken() async throws -> String { try await token(email: TestServer.adminEmail, password: TestServer.adminPassword) }

    /// Signs up a fresh user and returns (token, user id).
    func signup(_ name: String) async throws -> (token: String, id: String) {
        let reply = try await call(
            .post, "/api/v1/users/signup", json: ["name": name, "email": "\(name.lowercased())@example.com", "password": "password-\(name)"])
        guard reply.status == .created, let token = reply.json["token"] as? String, let id = reply.object("user")["id"] as? String else {
            throw TestFailure("signup failed: \(reply.status) \(reply.json)")
        }
        return (token, id)
    }

    /// Creates an event with a `rows` × `cols` grid at `price` and returns its id.
    func createEvent(admin: String, rows: Int = 3, cols: Int = 4, price: Double = 10) async throws -> String {
        let reply = try await call(
            .post, "/api/v1/events", token: admin,
            json: [
                "title": "Concert", "venue": "Hall", "date": "2027-05-01T19:30:00Z",
                "venueConfig": ["rows": rows, "cols": cols, "price": price],
            ])
        guard reply.status == .created, let id = reply.object("event")["id"] as? String else {
            throw TestFailure("create event failed: \(reply.json)")
        }
        return id
    }

    /// Holds seats; the reply carries the hold or the error.
    func hold(_ eventID: String, _ seats: [String], token: String) async throws -> JSONReply {
        try await call(.post, "/api/v1/events/\(eventID)/holds", token: token, json: ["seatIds": seats])
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
