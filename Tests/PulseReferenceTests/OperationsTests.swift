import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PulseProtocol
import Synchronization
import Testing

@testable import PulseEngine
@testable import PulseReference

/// A hot store that stops answering when told to, with an error text no client may see.
final class SwitchableHotStore: HotStoreDecorator {
    let inner: any HotStore
    let down = Atomic<Bool>(false)
    static let secret = "connection refused by 10.1.2.3:6379 (internal)"
    init(_ inner: any HotStore) { self.inner = inner }

    private func check() throws { if down.load(ordering: .relaxed) { throw HotStoreError.unavailable(Self.secret) } }

    func ping() async throws {
        try check()
        try await inner.ping()
    }

    func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome {
        try check()
        return try await inner.hold(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, nowMs: nowMs, ttlMs: ttlMs,
            heldSeatsPerUserMax: heldSeatsPerUserMax, eventStamp: eventStamp)
    }
}

@Suite("HTTP: operations (readiness, 405, 503 without internal detail)")
struct OperationsTests {
    /// A test server whose engine's hot store can be switched off.
    static func serverWithSwitchableHotStore() async throws -> (TestServer, SwitchableHotStore) {
        final class Made: Sendable { let store = Mutex<SwitchableHotStore?>(nil) }
        let made = Made()
        var hooks = WiringHooks()
        hooks.hotStore = { inner in
            let store = SwitchableHotStore(inner)
            made.store.withLock { $0 = store }
            return store
        }
        let test = try await TestServer.make(hooks: hooks)
        guard let store = made.store.withLock({ $0 }) else { throw TestFailure("the hot-store hook never ran") }
        return (test, store)
    }

    @Test("GET /readyz is 200 while both stores answer, 503 store_unavailable naming the hot store while it does not, 200 again after")
    func readiness() async throws {
        let (test, store) = try await Self.serverWithSwitchableHotStore()
        try await test.application().test(.router) { client in
            let ready = try await client.call(.get, "/readyz")
            #expect(ready.status == .ok)
            #expect(ready.data["hotStore"] as? String == "ready" && ready.data["durableStore"] as? String == "ready")
            store.down.store(true, ordering: .relaxed)
            let notReady = try await client.call(.get, "/readyz")
            #expect(notReady.status == .serviceUnavailable && notReady.code == "store_unavailable")
            #expect(notReady.json["message"] as? String == "Not ready: the hot store does not answer.")
            #expect(notReady.headers[.retryAfter] == "1")
            store.down.store(false, ordering: .relaxed)
            #expect(try await client.call(.get, "/readyz").status == .ok)
        }
    }

    @Test("a 503 carries no store error text, only a request id naming the log entry")
    func storeErrorsStayInTheLog() async throws {
        let (test, store) = try await Self.serverWithSwitchableHotStore()
        try await test.application().test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (token, _) = try await client.signup("Ida")
            store.down.store(true, ordering: .relaxed)
            let reply = try await client.hold(event, ["A1"], token: token)
            #expect(reply.status == .serviceUnavailable && reply.code == "store_unavailable")
            let body = String(describing: reply.json)
            #expect(!body.contains("10.1.2.3") && !body.contains("refused") && !body.contains("hot store:"), "\(body)")
            #expect(reply.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
        }
    }

    @Test("a method a known path does not have is 405 route_not_found with Allow; an unknown path stays 404")
    func methodNotAllowed() async throws {
        try await TestServer.make().application().test(.router) { client in
            let put = try await client.call(.put, "/api/v1/events", json: [:])
            #expect(put.status == .methodNotAllowed && put.code == "route_not_found")
            #expect(put.headers[.allow] == "GET, POST")
            let trace = try await client.call(.patch, "/healthz")
            #expect(trace.status == .methodNotAllowed && trace.headers[.allow] == "GET")
            let onID = try await client.call(.post, "/api/v1/events/\(String(repeating: "a", count: 24))")
            #expect(onID.status == .methodNotAllowed && onID.headers[.allow] == "DELETE, GET, PATCH")
            let unknown = try await client.call(.put, "/api/v1/nothing-here")
            #expect(unknown.status == .notFound && unknown.code == "route_not_found" && unknown.headers[.allow] == nil)
        }
    }

    @Test("CORS: a configured origin may call the API (errors included) and gets its preflight; any other origin gets no CORS header")
    func cors() async throws {
        let app = "http://localhost:5173"
        let test = try await TestServer.make(corsOrigins: [app, "https://tickets.example"])
        try await test.application().test(.router) { client in
            let listed = try await client.call(.get, "/api/v1/events", headers: [.origin: app])
            #expect(listed.status == .ok && listed.headers[.accessControlAllowOrigin] == app)
            #expect(listed.headers[.accessControlExposeHeaders]?.contains("Retry-After") == true)
            #expect(listed.headers[values: .vary].contains("Origin"))
            let refused = try await client.call(.get, "/api/v1/users/me", headers: [.origin: app])
            #expect(refused.status == .unauthorized && refused.headers[.accessControlAllowOrigin] == app, "the app can read its 401")
            let preflight = try await client.call(
                .options, "/api/v1/events/\(String(repeating: "a", count: 24))/holds",
                headers: [.origin: app, .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "authorization, content-type"])
            #expect(preflight.status == .noContent && preflight.headers[.accessControlAllowOrigin] == app)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(preflight.headers[.accessControlAllowHeaders]?.contains("Authorization") == true)

            let other = try await client.call(.get, "/api/v1/events", headers: [.origin: "https://evil.example"])
            #expect(other.status == .ok && other.headers[.accessControlAllowOrigin] == nil && other.headers[values: .vary].contains("Origin"))
            let otherPreflight = try await client.call(
                .options, "/api/v1/events", headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"])
            #expect(otherPreflight.status == .methodNotAllowed && otherPreflight.headers[.accessControlAllowOrigin] == nil)
        }
        try await TestServer.make().application().test(.router) { client in
            let reply = try await client.call(.get, "/api/v1/events", headers: [.origin: app])
            #expect(reply.headers[.accessControlAllowOrigin] == nil, "no origin is allowed by default")
        }
    }

    @Test("a CORS origin is scheme://host[:port], http or https, nothing more")
    func corsOrigins() {
        for good in ["http://localhost:5173", "https://tickets.example", "https://[::1]:8443", "http://127.0.0.1"] {
            #expect(PulseServer.isCORSOrigin(good), "\(good)")
        }
        for bad in [
            "*", "https://tickets.example/", "ftp://x.example", "https://", "tickets.example", "https://a.example:0", "https://a.example:99999",
            "https://a.example/path", "https://user@a.example", "https://a.example?x=1",
        ] {
            #expect(!PulseServer.isCORSOrigin(bad), "\(bad)")
        }
    }
}
