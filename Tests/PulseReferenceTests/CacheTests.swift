import Foundation
import Hummingbird
import HummingbirdTesting
import PulseProtocol
import Testing

@testable import PulseEngine
@testable import PulseReference

/// The accounts' user cache never acts on a stale record: every test changes the user through
/// another instance, which shares only the stores. (The engine's event cache is checked by the
/// engine behaviours, on every store.)
@Suite("Caches cannot serve stale state", .timeLimit(.minutes(10)))
struct CacheTests {
    @Test("a user promoted to admin elsewhere is an admin at once, though this server cached the user")
    func promotionCountsAtOnce() async throws {
        let test = try await TestServer.make()
        try await test.application().test(.router) { client in
            let (token, _) = try await client.signup("Grace")
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).object("user")["role"] as? String == "user")
            let body: [String: Any] = ["title": "T", "venue": "V", "date": "2027-01-01", "venueConfig": ["rows": 1, "cols": 1, "price": 1]]
            #expect(try await client.call(.post, "/api/v1/events", token: token, json: body).status == .forbidden)
            // `pulse admin create` from another process: straight into the durable store.
            _ = try await AccountService.ensureAdmin(
                email: "grace@example.com", password: "new-password", name: "Grace",
                durable: test.engine.durable, hasher: PasswordHasher(cost: 4),
                ids: SeededIdentifierSource(seed: 5), clock: test.clock)
            #expect(try await client.call(.post, "/api/v1/events", token: token, json: body).status == .created)
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).object("user")["role"] as? String == "admin")
        }
    }

    @Test("a token verified once is still refused once it expires, and its tampered copies are never taken for it")
    func verifiedTokens() async throws {
        let test = try await TestServer.make()
        try await test.application().test(.router) { client in
            let (token, _) = try await client.signup("Hedy")
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).status == .ok)
            var tampered = Array(token)
            tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
            #expect(try await client.call(.get, "/api/v1/users/me", token: String(tampered)).code == "invalid_token")
            #expect(try await client.call(.get, "/api/v1/users/me", token: token + "x").code == "invalid_token")
            test.clock.advance(byMs: 86_400_000)  // the default lifetime: expired at this very millisecond
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).code == "token_expired")
        }
    }
}
