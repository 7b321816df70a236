import Foundation
import PulseWire

extension Catalogue {
    static let accounts: [ConformanceCase] = [
        ConformanceCase("users.signup", "PB-USER-1", "sign-up answers 201 with a token and the user, role user", needs: [.testControl]) { c in
            let email = c.unique("signup") + "@conform.invalid"
            let reply = try await c.call(.POST, "/api/v1/users/signup", json: ["name": "Ada Lovelace", "email": email, "password": "correct horse"])
            try c.expect(reply, 201)
            let user = reply.object("user")
            try c.check(reply.json["token"] is String, "no token")
            try c.check(isHex(user.string("id"), count: 24) && user.string("email") == email && user.string("role") == "user", "user is \(user)")
        },
        ConformanceCase(
            "users.signup-validation", "PB-USER-1", "a bad name, email or password is 400 validation_failed naming it", needs: [.testControl]
        ) { c in
            for (body, field) in [
                (["name": "A", "email": c.unique("v") + "@conform.invalid", "password": "secret1"], "name"),
                (["name": "Ada", "email": "not-an-email", "password": "secret1"], "email"),
                (["name": "Ada", "email": c.unique("v") + "@conform.invalid", "password": "short"], "password"),
            ] {
                let reply = try await c.call(.POST, "/api/v1/users/signup", json: body)
                try c.expect(reply, 400, "validation_failed", "sign-up with a bad \(field)")
                try c.check(reply.json["field"] as? String == field, "field is \(reply.json["field"] ?? "absent"), not \(field)")
            }
        },
        ConformanceCase("users.role-ignored", "PB-USER-2", "a role in the sign-up body is ignored", needs: [.testControl]) { c in
            let reply = try await c.call(
                .POST, "/api/v1/users/signup",
                json: [
                    "name": "Mallory", "email": c.unique("role") + "@conform.invalid",
                    "password": "secret12", "role": "admin",
                ])
            try c.expect(reply, 201)
            try c.check(reply.object("user").string("role") == "user", "role is \(reply.object("user").string("role") ?? "absent")")
        },
        ConformanceCase(
            "users.email-unique", "PB-USER-3", "a second account with the same email (in any case) is 409 email_taken", needs: [.testControl]
        ) { c in
            let user = try await c.user()
            try c.expect(
                try await c.call(.POST, "/api/v1/users/signup", json: ["name": "Twin", "email": user.email, "password": "secret12"]), 409,
                "email_taken")
            try c.expect(
                try await c.call(.POST, "/api/v1/users/signup", json: ["name": "Twin", "email": user.email.uppercased(), "password": "secret12"]),
                409, "email_taken", "upper-case email")
        },
        ConformanceCase("users.email-unique-race", "PB-USER-3", "concurrent sign-ups with one email create one account", needs: [.testControl]) { c in
            let email = c.unique("race") + "@conform.invalid"
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await c.call(.POST, "/api/v1/users/signup", json: ["name": "Racer", "email": email, "password": "secret12"]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try c.check(statuses.filter { $0 == 201 }.count == 1 && statuses.filter { $0 == 409 }.count == 7, "statuses \(statuses.sorted())")
        },
        ConformanceCase("users.login", "PB-USER-4", "log-in answers 200 with a token and the user", needs: [.testControl]) { c in
            let user = try await c.user()
            let reply = try await c.call(.POST, "/api/v1/users/login", json: ["email": user.email, "password": user.password])
            try c.expect(reply, 200)
            try c.check(reply.json["token"] is String && reply.object("user").string("id") == user.id, "no token or another user")
        },
        ConformanceCase(
            "users.login-refused", "PB-USER-4", "a wrong password and an unknown email are both 401 invalid_credentials", needs: [.testControl]
        ) { c in
            let user = try await c.user()
            let wrong = try await c.call(.POST, "/api/v1/users/login", json: ["email": user.email, "password": "not-the-password"])
            let unknown = try await c.call(
                .POST, "/api/v1/users/login", json: ["email": c.unique("nobody") + "@conform.invalid", "password": "whatever1"])
            try c.expect(wrong, 401, "invalid_credentials", "wrong password")
            try c.expect(unknown, 401, "invalid_credentials", "unknown email")
            try c.check(
                wrong.json["message"] as? String == unknown.json["message"] as? String, "the two messages differ: they tell which emails exist")
        },
        ConformanceCase("users.no-password-in-answers", "PB-USER-5", "no answer contains a password or its hash", needs: [.testControl]) { c in
            let user = try await c.user()
            let login = try await c.call(.POST, "/api/v1/users/login", json: ["email": user.email, "password": user.password])
            let me = try await c.call(.GET, "/api/v1/users/me", token: user.token)
            for reply in [login, me] {
                try c.check(
                    !reply.text.contains(user.password) && !reply.text.contains("\"password") && !reply.text.contains("$2"),
                    "an answer mentions the password or a bcrypt hash: \(reply.text.prefix(200))")
            }
        },
        ConformanceCase("users.me", "PB-USER-6", .should, "GET /users/me answers the caller", needs: []) { c in
            let user = try await c.user()
            let reply = try await c.call(.GET, "/api/v1/users/me", token: user.token)
            try c.expect(reply, 200)
            try c.check(reply.object("user").string("id") == user.id, "another user: \(reply.object("user"))")
        },
        ConformanceCase("auth.missing-token", "PB-AUTH-1", "a user route without a token is 401 unauthenticated", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me"), 401, "unauthenticated")
        },
        ConformanceCase("auth.malformed-token", "PB-AUTH-2", "a malformed token is 401 invalid_token", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: "not.a.jwt"), 401, "invalid_token")
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: "garbage"), 401, "invalid_token")
        },
        ConformanceCase("auth.tampered-token", "PB-AUTH-2", "a token with a changed payload or signature is 401 invalid_token", needs: []) { c in
            let user = try await c.user()
            let parts = user.token.split(separator: ".").map(String.init)
            try c.check(parts.count == 3, "the token is not a JWT")
            var payload = try JWT.decode(parts[1])
            payload["id"] = "000000000000000000000000"
            let forged = [parts[0], JWT.encode(payload), parts[2]].joined(separator: ".")
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: forged), 401, "invalid_token", "changed payload")
            let signature = parts[2]
            // The first character: all six of its bits are signature bits (the last one's low bits
            // are padding, which a decoder may ignore, so changing it may change nothing).
            let flipped = (signature.first == "A" ? "B" : "A") + String(signature.dropFirst())
            try c.expect(
                try await c.call(.GET, "/api/v1/bookings/me", token: parts[0] + "." + parts[1] + "." + flipped), 401, "invalid_token",
                "changed signature")
        },
        ConformanceCase("auth.alg-none", "PB-AUTH-2", "an unsigned token (alg none) is 401 invalid_token", needs: []) { c in
            let user = try await c.user()
            let payload = try JWT.decode(String(user.token.split(separator: ".")[1]))
            let unsigned = JWT.encode(["alg": "none", "typ": "JWT"]) + "." + JWT.encode(payload) + "."
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: unsigned), 401, "invalid_token")
        },
        ConformanceCase(
            "auth.expired-token", "PB-AUTH-2", "a token past its exp is 401 token_expired; one that expires works until then",
            needs: [.testControl]
        ) { c in
            let user = try await c.user()
            let expired = try await c.token(for: user, expiresInSeconds: -5)
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: expired), 401, "token_expired", "a token that expired 5 s ago")
            // exp is the server's now + 3 s when it minted the token (whole seconds): valid for at
            // least 2 s from the request for it, surely expired 4 s after its answer.
            let asked = ContinuousClock.now
            let soon = try await c.token(for: user, expiresInSeconds: 3)
            let minted = ContinuousClock.now
            let early = try await c.call(.GET, "/api/v1/bookings/me", token: soon)
            if early.status == 401 && ContinuousClock.now - asked >= .seconds(2) {
                throw CaseInconclusive("the request with a token valid for 2 s more was answered only after those 2 s (a slow machine)")
            }
            try c.expect(early, 200, nil, "a token that expires in 3 s")
            try await Task.sleep(until: minted + .milliseconds(4_100))
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: soon), 401, "token_expired", "the same token 4 s later")
            try c.expect(
                try await c.call(.GET, "/api/v1/events/ffffffffffffffffffffffff/holds", token: soon), 401, "token_expired", "on another user route")
        },
        ConformanceCase("auth.forged-expiry", "PB-AUTH-2", "a token whose exp was changed without re-signing is 401 invalid_token", needs: []) { c in
            let user = try await c.user()
            let parts = user.token.split(separator: ".").map(String.init)
            var payload = try JWT.decode(parts[1])
            payload["exp"] = 4_000_000_000
            try c.expect(
                try await c.call(.GET, "/api/v1/bookings/me", token: [parts[0], JWT.encode(payload), parts[2]].joined(separator: ".")), 401,
                "invalid_token")
        },
        ConformanceCase("auth.token-payload", "PB-AUTH-3", "the token's payload is {id, iat, exp}", needs: []) { c in
            let user = try await c.user()
            let payload = try JWT.decode(String(user.token.split(separator: ".")[1]))
            try c.check(payload["id"] as? String == user.id, "id is \(payload["id"] ?? "absent")")
            let iat = (payload["iat"] as? NSNumber)?.doubleValue ?? 0
            let exp = (payload["exp"] as? NSNumber)?.doubleValue ?? 0
            try c.check(exp > iat && iat > 0, "iat \(iat), exp \(exp)")
        },
        ConformanceCase("auth.admin-only", "PB-AUTH-4", "a user creating an event is 403 forbidden; no token is 401", needs: []) { c in
            let body: [String: Any] = [
                "title": "x", "venue": "y", "date": "2031-01-01T20:00:00Z", "venueConfig": ["rows": 1, "cols": 1, "price": 1],
            ]
            try c.expect(try await c.call(.POST, "/api/v1/events", token: try await c.user().token, json: body), 403, "forbidden")
            try c.expect(try await c.call(.POST, "/api/v1/events", json: body), 401, "unauthenticated")
        },
        ConformanceCase(
            "auth.rate-limit", "PB-AUTH-6", "the 11th log-in within the window is 429 rate_limited with Retry-After", needs: [.testControl]
        ) { c in
            var statuses: [Int] = []
            var last: APIReply?
            for _ in 0..<11 {
                let reply = try await c.call(
                    .POST, "/api/v1/users/login", json: ["email": c.unique("limited") + "@conform.invalid", "password": "whatever1"])
                statuses.append(reply.status)
                last = reply
            }
            try c.check(statuses.prefix(10).allSatisfy { $0 == 401 } && statuses.last == 429, "statuses \(statuses)")
            try c.check(
                last?.code == "rate_limited" && Int(last?.headers.first(name: "Retry-After") ?? "") != nil, "no rate_limited code with a Retry-After")
        }.expectingRateLimits(),
    ]
}

/// Base64url JSON of JWT parts, for the token cases.
enum JWT {
    static func decode(_ part: String) throws -> [String: Any] {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CaseFailure("a token part is not base64url JSON")
        }
        return object
    }

    static func encode(_ object: [String: Any]) -> String {
        base64URL((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
    }

    /// `data` in base64url without padding, as a JWT's parts are written.
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(
            of: "=", with: "")
    }
}
