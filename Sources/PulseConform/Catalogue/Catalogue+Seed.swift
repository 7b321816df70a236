import Foundation
import PulseWire

/// The REST cases of the socketio profile: the clauses of SPEC.md that a seed-style server can
/// keep, checked in the seed's own wire format (documents with `_id`, seats addressed by the ids
/// the seat map gives, events with `status`). Statuses are checked, not codes: the seed has no
/// error codes, which `errors.envelope` and `errors.route-not-found` report once.
extension Catalogue {
    static let seedREST: [ConformanceCase] = [
        ConformanceCase("seed.signup", "PB-USER-1", "sign-up answers 201 with a token and the user (24-hex id, role user)", needs: []) { c in
            let email = c.unique("signup") + "@conform.invalid"
            let reply = try await c.call(.POST, "/api/v1/users/signup", json: ["name": "Ada Lovelace", "email": email, "password": "correct horse"])
            try c.expect(reply, 201)
            let user = reply.object("user")
            try c.check(reply.json["token"] is String, "no token")
            try c.check(isHex(c.documentID(user), count: 24) && user.string("email") == email && user.string("role") == "user", "user is \(user)")
        },
        ConformanceCase("seed.role-ignored", "PB-USER-2", "a role in the sign-up body is ignored", needs: []) { c in
            let reply = try await c.call(
                .POST, "/api/v1/users/signup",
                json: [
                    "name": "Mallory", "email": c.unique("role") + "@conform.invalid",
                    "password": "secret12", "role": "admin",
                ])
            try c.expect(reply, 201)
            try c.check(reply.object("user").string("role") == "user", "role is \(reply.object("user").string("role") ?? "absent")")
        },
        ConformanceCase("seed.email-unique-race", "PB-USER-3", "eight concurrent sign-ups with one email create one account (seed race 9)", needs: [])
        { c in
            let email = c.unique("race") + "@conform.invalid"
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await c.call(.POST, "/api/v1/users/signup", json: ["name": "Racer", "email": email, "password": "secret12"]).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try c.check(
                statuses.filter { $0 == 201 }.count == 1 && statuses.allSatisfy { $0 == 201 || (400..<500).contains($0) },
                "statuses \(statuses.sorted()): \(statuses.filter { $0 == 201 }.count) accounts with one email")
        },
        ConformanceCase("seed.login", "PB-USER-4", "log-in answers 200 with a token and the same user", needs: []) { c in
            let user = try await c.user()
            let reply = try await c.call(.POST, "/api/v1/users/login", json: ["email": user.email, "password": user.password])
            try c.expect(reply, 200)
            try c.check(reply.json["token"] is String && c.documentID(reply.object("user")) == user.id, "no token or another user")
        },
        ConformanceCase("seed.login-refused", "PB-USER-4", "a wrong password and an unknown email are both 401 with one message", needs: []) { c in
            let user = try await c.user()
            let wrong = try await c.call(.POST, "/api/v1/users/login", json: ["email": user.email, "password": "not-the-password"])
            let unknown = try await c.call(
                .POST, "/api/v1/users/login", json: ["email": c.unique("nobody") + "@conform.invalid", "password": "whatever1"])
            try c.expect(wrong, 401, nil, "wrong password")
            try c.expect(unknown, 401, nil, "unknown email")
            try c.check(
                wrong.json["message"] as? String == unknown.json["message"] as? String, "the two messages differ: they tell which emails exist")
        },
        ConformanceCase("seed.missing-token", "PB-AUTH-1", "a user route without a token is 401", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me"), 401)
        },
        ConformanceCase("seed.bad-token", "PB-AUTH-2", "malformed, tampered and unsigned tokens are 401, never 500 (seed race 7)", needs: []) { c in
            let user = try await c.user()
            let parts = user.token.split(separator: ".").map(String.init)
            try c.check(parts.count == 3, "the token is not a JWT")
            let unsigned = JWT.encode(["alg": "none", "typ": "JWT"]) + "." + parts[1] + "."
            let flipped = parts[0] + "." + parts[1] + "." + (parts[2].first == "A" ? "B" : "A") + String(parts[2].dropFirst())
            for (token, what) in [("garbage", "a malformed token"), (flipped, "a changed signature"), (unsigned, "alg none")] {
                try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: token), 401, nil, what)
            }
        },
        ConformanceCase("seed.admin-only", "PB-AUTH-4", "a user creating an event is 403; no token is 401", needs: []) { c in
            let body: [String: Any] = [
                "title": "x", "venue": "y", "date": "2031-01-01T20:00:00Z", "venueConfig": ["rows": 1, "cols": 1, "price": 1],
            ]
            try c.expect(try await c.call(.POST, "/api/v1/events", token: try await c.user().token, json: body), 403)
            try c.expect(try await c.call(.POST, "/api/v1/events", json: body), 401)
        },
        ConformanceCase("seed.event-create", "PB-EVENT-3", "an event is created with its whole grid: rows x cols seats, row-major, one id each") {
            c in
            let reply = try await c.call(
                .POST, "/api/v1/events", token: try c.admin(),
                json: [
                    "title": "Shape", "venue": "Hall", "date": "2031-06-01T20:00:00Z", "venueConfig": ["rows": 3, "cols": 4, "price": 12.5],
                ])
            try c.expect(reply, 201)
            let event = reply.object("event")
            let id = try c.require(c.documentID(event), "the event has no id")
            try c.check(isHex(id, count: 24), "event id \(id) is not 24 lower-case hex characters")
            try c.check(
                event.object("venueConfig").int("rows") == 3 && event.object("venueConfig").double("price") == 12.5,
                "venueConfig \(event.object("venueConfig"))")
            let seats = try await c.call(.GET, "/api/v1/events/\(id)/seats").objects("seats")
            let labels = seats.compactMap { $0.string("label") }
            try c.check(labels == ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "C3", "C4"], "seat labels \(labels)")
            let ids = seats.compactMap { c.documentID($0) }
            try c.check(ids.count == 12 && Set(ids).count == 12, "seat ids are missing or repeat: \(ids)")
            try c.check(
                seats.allSatisfy { $0.double("price") == 12.5 && $0.string("status") == "available" }, "a seat is not available at the event's price")
        },
        ConformanceCase("seed.event-grid-atomic", "PB-EVENT-3", "an event is never listed before its seat grid exists (seed race 9)") { c in
            let title = c.unique("grid")
            let admin = try c.admin()
            // Four readers list the events while the event is being created, until each has seen it.
            let (created, seen) = try await withThrowingTaskGroup(of: (APIReply?, [Int]).self) { group in
                group.addTask {
                    (
                        try await c.call(
                            .POST, "/api/v1/events", token: admin,
                            json: [
                                "title": title, "venue": "Hall", "date": "2031-06-01T20:00:00Z",
                                "venueConfig": ["rows": 26, "cols": 50, "price": 10],
                            ]), []
                    )
                }
                for _ in 0..<4 {
                    group.addTask {
                        for _ in 0..<400 {
                            let listed = try await c.api.call(.GET, "/api/v1/events", timeout: .seconds(10)).objects("events").first {
                                $0.string("title") == title
                            }
                            if let available = listed?.int("availableSeats") { return (nil, [available]) }
                        }
                        return (nil, [])
                    }
                }
                return try await group.reduce(into: (APIReply?.none, [Int]())) {
                    if let reply = $1.0 { $0.0 = reply }
                    $0.1 += $1.1
                }
            }
            try c.expect(try c.require(created, "no answer to the creation"), 201)
            try c.check(!seen.isEmpty, "the new event was never listed")
            try c.check(seen.allSatisfy { $0 == 1300 }, "the event was listed with \(seen) available seats of 1300: visible before its grid")
        },
        ConformanceCase("seed.event-get", "PB-EVENT-4", "an event is read by id; an unknown id is 404", needs: [.admin]) { c in
            let event = try await c.event()
            let reply = try await c.call(.GET, "/api/v1/events/\(event)")
            try c.expect(reply, 200)
            try c.check(c.documentID(reply.object("event")) == event, "another event")
            try c.expect(try await c.call(.GET, "/api/v1/events/ffffffffffffffffffffffff"), 404)
        },
        ConformanceCase("seed.invalid-id", "PB-ERR-3", "a path id of the wrong form is a 4xx, not a 5xx", needs: []) { c in
            for path in ["/api/v1/events/not-an-id", "/api/v1/events/not-an-id/seats"] {
                let reply = try await c.call(.GET, path)
                try c.check((400..<500).contains(reply.status), "\(path) answered \(reply.status)")
            }
        },
        ConformanceCase("seed.bad-input", "PB-ERR-3", "malformed or mistyped bodies are 4xx, never 5xx (seed race 7)") { c in
            let event = try await c.event()
            let token = try await c.user().token
            let bodies = ["{seatIds: [A1", #"["A1"]"#, #"{"seatIds":"A1"}"#, #"{"seatIds":[1,2],"totalAmount":"x"}"#, "{}"]
            for body in bodies {
                for (path, auth) in [
                    ("/api/v1/events/\(event)/seats", token as String?), ("/api/v1/users/signup", nil), ("/api/v1/users/login", nil),
                ] {
                    let reply = try await c.call(.POST, path, token: auth, raw: body)
                    try c.check(reply.status < 500, "\(path) with \(body.debugDescription) answered \(reply.status)")
                }
            }
        },
        ConformanceCase("seed.checkout-requires-lock", "PB-CHECKOUT-3", "a checkout of a seat the caller has not locked books nothing") { c in
            let event = try await c.event()
            let user = try await c.user()
            let reply = try await c.call(
                .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": [try await c.seat(event, "A1")], "totalAmount": 25])
            try c.check((400..<500).contains(reply.status), "a checkout without a lock answered \(reply.status)")
            try c.check(try await c.bookings(of: user, in: event).isEmpty, "a booking exists without a lock")
        },
        ConformanceCase("seed.server-price", "PB-CHECKOUT-4", "a totalAmount that is not seats x price books nothing (the seed trusts the client)") {
            c in
            let event = try await c.event(price: 25)
            let user = try await c.user(0)
            let seat = try await c.seat(event, "A1")
            let socket = try await c.joinedSocket(event, token: user.token)
            try c.check(try await c.lock(socket, event, seat, as: user), "the lock of a free seat failed")
            let reply = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": [seat], "totalAmount": 1])
            let booked = try await c.bookings(of: user, in: event)
            try c.check(
                reply.status >= 400 && booked.isEmpty || booked.allSatisfy { $0.double("totalAmount") == 25 },
                "a seat of price 25 was booked for 1: \(reply.status), bookings \(booked.map { $0["totalAmount"] ?? "-" })")
        },
        ConformanceCase(
            "seed.concurrent-checkout", "PB-CHECKOUT-5",
            "one user's five concurrent checkouts of one locked seat: one booking, the rest 4xx (seed race 8)"
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let seat = try await c.seat(event, "A1")
            let socket = try await c.joinedSocket(event, token: user.token)
            try c.check(try await c.lock(socket, event, seat, as: user), "the lock of a free seat failed")
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": [seat], "totalAmount": 25])
                            .status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let booked = try await c.bookings(of: user, in: event)
            try c.check(booked.count == 1, "\(booked.count) bookings of one seat (answers \(statuses.sorted()))")
            try c.check(
                statuses.filter { $0 == 201 }.count == 1 && statuses.allSatisfy { $0 < 500 }, "answers \(statuses.sorted()): one 201 and 4xx expected"
            )
        },
    ]
}

extension CaseContext {
    /// `user`'s bookings of `event` (`GET /bookings/me`, in either shape).
    func bookings(of user: TestUser, in event: String) async throws -> [[String: Any]] {
        let reply = try await call(.GET, "/api/v1/bookings/me", token: user.token)
        try expect(reply, 200, nil, "bookings/me")
        return reply.objects("bookings").filter { WireWorld.booking($0).event == event }
    }

    /// `value`, or ``CaseFailure`` with `message` when it is nil.
    func require<T>(_ value: T?, _ message: @autoclosure () -> String) throws -> T {
        guard let value else { throw CaseFailure(message()) }
        return value
    }
}
