import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import PulseEngine
@testable import PulseReference

@Suite("HTTP: users, tokens and defences")
struct HTTPAuthTests {
    @Test("signup returns 201 with a token and the user; the role field is ignored")
    func signup() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let reply = try await client.call(
                .post, "/api/v1/users/signup", json: ["name": "Ada", "email": "ADA@Example.com ", "password": "secret1", "role": "admin"])
            #expect(reply.status == .created)
            #expect(reply.json["status"] as? String == "success")
            #expect((reply.json["token"] as? String)?.split(separator: ".").count == 3)
            #expect(reply.object("user")["email"] as? String == "ada@example.com")
            #expect(reply.object("user")["role"] as? String == "user")
            #expect(reply.object("user")["passwordHash"] == nil)
            let me = try await client.call(.get, "/api/v1/users/me", token: reply.json["token"] as? String)
            #expect(me.object("user")["email"] as? String == "ada@example.com")
        }
    }

    @Test("signup refuses a taken email (409), and bad fields with 400 naming the field")
    func signupValidation() async throws {
        let app = try await TestServer.make(authAttempts: 100).application()
        try await app.test(.router) { client in
            _ = try await client.signup("Ada")
            let taken = try await client.call(
                .post, "/api/v1/users/signup", json: ["name": "Ada2", "email": "ada@example.com", "password": "secret1"])
            #expect(taken.status == .conflict)
            #expect(taken.code == "email_taken")
            for (body, field) in [
                (["name": "A", "email": "a@example.com", "password": "secret1"], "name"),
                (["name": "Ann", "email": "not-an-email", "password": "secret1"], "email"),
                (["name": "Ann", "email": "a@example.com", "password": "short"], "password"),
                (["name": "Ann", "email": "a@example.com", "password": String(repeating: "p", count: 73)], "password"),
            ] {
                let reply = try await client.call(.post, "/api/v1/users/signup", json: body)
                #expect(reply.status == .badRequest)
                #expect(reply.code == "validation_failed")
                #expect(reply.json["field"] as? String == field)
                #expect(reply.json["status"] as? String == "fail")
            }
            let wrongType = try await client.call(.post, "/api/v1/users/signup", json: ["name": 5, "email": "a@example.com", "password": "secret1"])
            #expect(wrongType.code == "validation_failed")
            #expect(wrongType.json["field"] as? String == "name")
            let missing = try await client.call(.post, "/api/v1/users/signup", json: ["name": "Ann"])
            #expect(missing.code == "validation_failed")
            let malformed = try await client.call(.post, "/api/v1/users/signup", raw: "{\"name\":")
            #expect(malformed.status == .badRequest)
            #expect(malformed.code == "malformed_json")
            // (Foundation's parser accepts a trailing comma in an object, before and after one parse per body.)
            for body in ["[1,2]", "", "   ", "null", "\"x\"", "42", "{\"name\":\"Ann\"} trailing", "{'name':1}", "\u{FEFF}x"] {
                let reply = try await client.call(.post, "/api/v1/users/signup", raw: body)
                #expect(reply.status == .badRequest && reply.code == "malformed_json", "\(body.debugDescription): \(reply.json)")
            }
            // Emails are checked on code points, as the OpenAPI pattern is (schemathesis found both): an `@` followed by a
            // combining mark is one character yet holds the `@`; U+0085 is no white space to JSON Schema's patterns but is to
            // Unicode, and the pattern lists Unicode's, so both refuse it inside and both accept U+FEFF.
            for (name, accepted) in [("\u{85}Ab\u{85}", true), ("\u{85}", false), (" \u{301}x", true)] {
                let reply = try await client.call(
                    .post, "/api/v1/users/signup",
                    json: ["name": name, "email": "n\(name.unicodeScalars.count)\(accepted)@example.com", "password": "secret1"])
                #expect(
                    reply.status == (accepted ? .created : .badRequest),
                    "name \(name.unicodeScalars.map { String($0.value, radix: 16) }): \(reply.json)")
            }
            for (email, accepted) in [
                ("0\u{AD}@\u{1F3FB}x\u{FEFF}.io", true), ("a\u{85}b@example.com", false), ("a@\u{301}.io", true), ("a@.\u{301}io", false),
            ] {
                let reply = try await client.call(.post, "/api/v1/users/signup", json: ["name": "Uni Code", "email": email, "password": "secret1"])
                #expect(
                    reply.status == (accepted ? .created : .badRequest), "\(email.unicodeScalars.map { String($0.value, radix: 16) }): \(reply.json)")
            }
            let spaced = try await client.call(
                .post, "/api/v1/users/signup", raw: " \n\t{\"name\":\"Ann Lee\",\"email\":\"ann@example.com\",\"password\":\"secret1\"} ")
            #expect(spaced.status == .created)
            let huge = try await client.call(.post, "/api/v1/users/signup", raw: "{\"name\":\"" + String(repeating: "x", count: 11_000) + "\"}")
            #expect(huge.status == .contentTooLarge)
            #expect(huge.code == "payload_too_large")
        }
    }

    @Test("login: 200 with a token for the right password, 401 invalid_credentials otherwise")
    func login() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            _ = try await client.signup("Ada")
            let ok = try await client.call(.post, "/api/v1/users/login", json: ["email": "ada@example.com", "password": "password-Ada"])
            #expect(ok.status == .ok)
            #expect(ok.json["token"] is String)
            for (email, password) in [("ada@example.com", "wrong-password"), ("nobody@example.com", "password-Ada")] {
                let bad = try await client.call(.post, "/api/v1/users/login", json: ["email": email, "password": password])
                #expect(bad.status == .unauthorized)
                #expect(bad.code == "invalid_credentials")
                #expect(bad.json["message"] as? String == "Incorrect email or password")
            }
        }
    }

    @Test("a password counts characters (72 of them may be 288 bytes), and every one counts, past bcrypt's 72 bytes too")
    func longPasswords() async throws {
        let app = try await TestServer.make(authAttempts: 100).application()
        try await app.test(.router) { client in
            let wide = String(repeating: "€", count: 72)  // 72 characters, 216 bytes
            let signup = try await client.call(.post, "/api/v1/users/signup", json: ["name": "Wide", "email": "wide@example.com", "password": wide])
            #expect(signup.status == .created)
            let prefix = String(repeating: "é", count: 36)  // bcrypt's 72 bytes
            let cut = try await client.call(
                .post, "/api/v1/users/signup", json: ["name": "Cut", "email": "cut@example.com", "password": prefix + "abcd"])
            #expect(cut.status == .created)
            for (email, password, status) in [
                ("wide@example.com", wide, HTTPResponse.Status.ok), ("cut@example.com", prefix + "abcd", .ok),
                ("cut@example.com", prefix + "wxyz", .unauthorized), ("cut@example.com", prefix, .unauthorized),
                ("wide@example.com", String(repeating: "€", count: 71) + "$", .unauthorized),
            ] {
                let reply = try await client.call(.post, "/api/v1/users/login", json: ["email": email, "password": password])
                #expect(reply.status == status, "\(email) with a password of \(password.count) characters")
            }
            let combining = String(repeating: "e\u{301}", count: 3)  // 3 characters as a person reads them, 6 code points
            let counted = try await client.call(
                .post, "/api/v1/users/signup", json: ["name": "Acute", "email": "acute@example.com", "password": combining])
            #expect(counted.status == .created, "code points are counted, as JSON Schema counts them")
        }
    }

    @Test("signup and login are rate limited per client address with 429 and Retry-After")
    func rateLimit() async throws {
        let app = try await TestServer.make(authAttempts: 3).application()
        try await app.test(.router) { client in
            for _ in 0..<3 {
                let reply = try await client.call(.post, "/api/v1/users/login", json: ["email": "x@example.com", "password": "whatever"])
                #expect(reply.status == .unauthorized)
            }
            let limited = try await client.call(.post, "/api/v1/users/login", json: ["email": "x@example.com", "password": "whatever"])
            #expect(limited.status == .tooManyRequests)
            #expect(limited.code == "rate_limited")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            // Sign-up has its own budget.
            #expect(
                try await client.call(.post, "/api/v1/users/signup", json: ["name": "Ann", "email": "ann@example.com", "password": "secret1"]).status
                    == .created)
        }
    }

    @Test("missing, malformed, tampered, alg-none and foreign-key tokens get 401 invalid_token or unauthenticated")
    func badTokens() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let (token, _) = try await client.signup("Ada")
            let missing = try await client.call(.get, "/api/v1/bookings/me")
            #expect(missing.status == .unauthorized)
            #expect(missing.code == "unauthenticated")
            let parts = token.split(separator: ".").map(String.init)
            let payload = parts[1]
            let noneHeader = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
            let otherKey = await TokenService(secret: String(repeating: "o", count: 40), lifetimeSeconds: 3600, clock: ManualClock())
            let foreign = try await otherKey.issue(userID: "aaaaaaaaaaaaaaaaaaaaaaaa")
            for bad in [
                "garbage", "a.b.c", "\(parts[0]).\(payload).AAAA", "\(noneHeader).\(payload).", "\(parts[0]).\(payload)x.\(parts[2])", foreign,
            ] {
                let reply = try await client.call(.get, "/api/v1/bookings/me", token: bad)
                #expect(reply.status == .unauthorized, "token \(bad.prefix(40))")
                #expect(reply.code == "invalid_token")
            }
        }
    }

    /// A compact JWS signed with `secret` as the caller says (HS256 or HS512), header and payload as given.
    static func signed(header: String, payload: String, secret: String = TestServer.jwtSecret, sha512: Bool = false) -> String {
        func base64url(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
                of: "=", with: "")
        }
        let input = base64url(Data(header.utf8)) + "." + base64url(Data(payload.utf8))
        let key = SymmetricKey(data: Data(secret.utf8))
        let mac =
            sha512
            ? Data(HMAC<SHA512>.authenticationCode(for: Data(input.utf8), using: key))
            : Data(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: key))
        return input + "." + base64url(mac)
    }

    @Test("tokens signed right but not as the server signs are refused: HS512, a kid, no exp, a past exp, a user that does not exist")
    func forgedTokens() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.router) { client in
            let (_, id) = try await client.signup("Ada")
            let now = Double(server.clock.nowMs()) / 1000
            let claims = #"{"id":"\#(id)","iat":\#(now),"exp":\#(now + 3600)}"#
            let hs256 = #"{"alg":"HS256","typ":"JWT"}"#
            // The control: signed this way with the server's secret, the same claims are accepted.
            #expect(try await client.call(.get, "/api/v1/users/me", token: Self.signed(header: hs256, payload: claims)).status == .ok)
            let refused: [(String, String, String)] = [
                (
                    "HS512 with the server's secret", Self.signed(header: #"{"alg":"HS512","typ":"JWT"}"#, payload: claims, sha512: true),
                    "invalid_token"
                ),
                ("a kid header", Self.signed(header: #"{"alg":"HS256","typ":"JWT","kid":"other"}"#, payload: claims), "invalid_token"),
                ("no exp", Self.signed(header: hs256, payload: #"{"id":"\#(id)","iat":\#(now)}"#), "invalid_token"),
                (
                    "an exp in the past", Self.signed(header: hs256, payload: #"{"id":"\#(id)","iat":\#(now - 7200),"exp":\#(now - 3600)}"#),
                    "token_expired"
                ),
                (
                    "a user that does not exist",
                    Self.signed(header: hs256, payload: #"{"id":"ffffffffffffffffffffffff","iat":\#(now),"exp":\#(now + 3600)}"#), "invalid_token"
                ),
                ("another secret", Self.signed(header: hs256, payload: claims, secret: String(repeating: "x", count: 40)), "invalid_token"),
            ]
            for (what, token, code) in refused {
                let reply = try await client.call(.get, "/api/v1/users/me", token: token)
                #expect(reply.status == .unauthorized && reply.code == code, "\(what): \(reply.status) \(reply.json)")
            }
        }
    }

    @Test("an expired token gets 401 token_expired")
    func expiredToken() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.router) { client in
            let (token, _) = try await client.signup("Ada")
            server.clock.advance(byMs: 86_400_000)
            let reply = try await client.call(.get, "/api/v1/bookings/me", token: token)
            #expect(reply.status == .unauthorized)
            #expect(reply.code == "token_expired")
        }
    }

    @Test("admin routes: 401 without a token, 403 for a user, allowed for the bootstrapped admin")
    func roles() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let body: [String: Any] = ["title": "T", "venue": "V", "date": "2027-01-01", "venueConfig": ["rows": 1, "cols": 1, "price": 1]]
            #expect(try await client.call(.post, "/api/v1/events", json: body).status == .unauthorized)
            let (user, _) = try await client.signup("Ada")
            let forbidden = try await client.call(.post, "/api/v1/events", token: user, json: body)
            #expect(forbidden.status == .forbidden)
            #expect(forbidden.code == "forbidden")
            #expect(try await client.call(.post, "/api/v1/events", token: try await client.adminToken(), json: body).status == .created)
        }
    }

    @Test("every response carries the security headers; unknown routes get the seed's 404 envelope")
    func securityHeadersAndNotFound() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let reply = try await client.call(.get, "/api/v1/nowhere")
            #expect(reply.status == .notFound)
            #expect(reply.code == "route_not_found")
            #expect(reply.json["message"] as? String == "Can't find /api/v1/nowhere on this server!")
            for name in ["X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"] {
                #expect(reply.headers[HTTPField.Name(name)!] != nil, "\(name)")
            }
            let events = try await client.call(.get, "/api/v1/events")
            #expect(events.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        }
    }
}
