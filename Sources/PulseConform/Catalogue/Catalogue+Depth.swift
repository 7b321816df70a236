import Foundation
import PulseWire
import Synchronization

/// Cases found missing by running the suite against single-defect variants of an independent
/// implementation of SPEC.md (Tests/Conformance/Support/pulse_server.py): each pins a detail its
/// clause states that no earlier case looked at.
extension Catalogue {
    static let depth: [ConformanceCase] = [
        ConformanceCase("rest.json", "PB-REST-1", "answers are JSON (Content-Type application/json), successes and errors alike") { c in
            let event = try await c.event()
            for (reply, what) in [
                (try await c.call(.GET, "/api/v1/events/\(event)"), "a success"), (try await c.call(.GET, "/api/v1/no-such-route"), "an error"),
            ] {
                let type = reply.headers.first(name: "Content-Type") ?? ""
                try c.check(type.lowercased().hasPrefix("application/json"), "\(what) has Content-Type \(type)")
            }
        },
        ConformanceCase("rest.unknown-fields", "PB-REST-6", "unknown body fields are ignored; a boolean is not a number") { c in
            let user = try await c.user()
            let event = try await c.event()
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A1"], "note": "window seat"]), 201,
                nil,
                "a hold with an unknown field")
            let reply = try await c.call(
                .POST, "/api/v1/events", token: try c.admin(),
                json: [
                    "title": "t", "venue": "v", "date": "2031-01-01T20:00:00Z", "venueConfig": ["rows": true, "cols": 2, "price": 1],
                ])
            try c.expect(reply, 400, "validation_failed", "venueConfig.rows true")
        },
        ConformanceCase("errors.odd-bodies", "PB-ERR-3", "a sign-up whose fields are not strings, and a body that is not UTF-8, are 4xx", needs: []) {
            c in
            for body in [
                #"{"name":"Ada","email":42,"password":"secret12"}"#, #"{"name":["Ada"],"email":"a@b.invalid","password":"secret12"}"#,
                "{\"name\":\"\u{FFFD}\u{0}\"}",
            ] {
                let reply = try await c.call(.POST, "/api/v1/users/signup", raw: body)
                try c.check((400..<500).contains(reply.status), "a sign-up of \(body.debugDescription) answered \(reply.status)")
            }
            let request = Array("{\"name\":\"".utf8) + [0xff, 0xfe, 0x80] + Array("\",\"email\":\"x@y.invalid\",\"password\":\"secret12\"}".utf8)
            let reply = try await c.api.call(.POST, "/api/v1/users/signup", rawBytes: request, timeout: .seconds(10))
            try c.check((400..<500).contains(reply.status), "a body with bytes that are not UTF-8 answered \(reply.status)")
        },
        ConformanceCase(
            "users.signup-limits", "PB-USER-1",
            "the name is measured after trimming; the password limit counts characters, and every character counts", needs: [.testControl]
        ) { c in
            let spaced = try await c.call(
                .POST, "/api/v1/users/signup", json: ["name": " a ", "email": c.unique("trim") + "@conform.invalid", "password": "secret12"],
                headers: [("Pulse-Test-Client", c.unique("t"))])
            try c.expect(spaced, 400, "validation_failed", "the name \" a \" (one character after trimming)")
            let tooLong = try await c.call(
                .POST, "/api/v1/users/signup",
                json: [
                    "name": "Ada", "email": c.unique("long") + "@conform.invalid",
                    "password": String(repeating: "a", count: 73),
                ], headers: [("Pulse-Test-Client", c.unique("t"))])
            try c.expect(tooLong, 400, "validation_failed", "a password of 73 characters")
            // 36 two-byte characters fill bcrypt's 72 bytes; the four after them must count too.
            let email = c.unique("bytes") + "@conform.invalid"
            let prefix = String(repeating: "é", count: 36)
            let signup = try await c.call(
                .POST, "/api/v1/users/signup", json: ["name": "Ada", "email": email, "password": prefix + "abcd"],
                headers: [("Pulse-Test-Client", c.unique("t"))])
            try c.expect(signup, 201, nil, "a password of 40 characters (76 bytes)")
            let right = try await c.call(
                .POST, "/api/v1/users/login", json: ["email": email, "password": prefix + "abcd"], headers: [("Pulse-Test-Client", c.unique("t"))])
            try c.expect(right, 200, nil, "log-in with that password")
            let cut = try await c.call(
                .POST, "/api/v1/users/login", json: ["email": email, "password": prefix + "wxyz"], headers: [("Pulse-Test-Client", c.unique("t"))])
            try c.expect(cut, 401, "invalid_credentials", "log-in with the same first 72 bytes and other characters after them")
        },
        ConformanceCase("auth.token-lifetime", "PB-AUTH-3", "a token lives 24 hours by default: exp = iat + 86400") { c in
            let payload = try JWT.decode(String(try await c.user().token.split(separator: ".")[1]))
            let (iat, exp) = ((payload["iat"] as? NSNumber)?.doubleValue ?? 0, (payload["exp"] as? NSNumber)?.doubleValue ?? 0)
            try c.check(exp - iat == 86_400, "exp - iat is \(exp - iat) s")
        },
        ConformanceCase("auth.admin-routes", "PB-AUTH-4", "PATCH and DELETE of an event need an admin: 403 for a user") { c in
            let event = try await c.event()
            let token = try await c.user().token
            try c.expect(
                try await c.call(.PATCH, "/api/v1/events/\(event)", token: token, json: ["title": "mine"]), 403, "forbidden", "PATCH by a user")
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: token), 403, "forbidden", "DELETE by a user")
        },
        ConformanceCase("auth.rate-limit-per-route", "PB-AUTH-6", "sign-up and log-in are counted apart", needs: [.testControl]) { c in
            let client = [("Pulse-Test-Client", c.unique("routes"))]
            for _ in 0..<10 {
                _ = try await c.call(
                    .POST, "/api/v1/users/login", json: ["email": c.unique("n") + "@conform.invalid", "password": "whatever1"], headers: client)
            }
            let signup = try await c.call(
                .POST, "/api/v1/users/signup", json: ["name": "Ada", "email": c.unique("s") + "@conform.invalid", "password": "secret12"],
                headers: client)
            try c.expect(signup, 201, nil, "a sign-up after ten log-ins of the same client")
        }.expectingRateLimits(),
        ConformanceCase("events.list-order", "PB-EVENT-2", "the list holds active events only, sorted by date") { c in
            let admin = try c.admin()
            var ids: [String] = []
            for date in ["2033-03-01T20:00:00Z", "2033-01-01T20:00:00Z", "2033-02-01T20:00:00Z"] {
                let reply = try await c.call(
                    .POST, "/api/v1/events", token: admin,
                    json: [
                        "title": c.unique("order"), "venue": "v", "date": date, "venueConfig": ["rows": 1, "cols": 1, "price": 1],
                    ])
                try c.expect(reply, 201)
                ids.append(reply.object("event").string("id") ?? "")
            }
            try c.expect(try await c.call(.PATCH, "/api/v1/events/\(ids[2])", token: admin, json: ["isActive": false]), 200)
            let listed = try await c.call(.GET, "/api/v1/events").objects("events").compactMap { $0.string("id") }.filter(ids.contains)
            try c.check(
                listed == [ids[1], ids[0]],
                "listed \(listed.map { ids.firstIndex(of: $0) ?? -1 }) of events 0 (March), 1 (January), 2 (February, inactive)")
        },
        ConformanceCase(
            "events.inactive-rules", "PB-EVENT-5", "an inactive event is still read by id, and refuses checkouts too (409 event_inactive)"
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            try c.expect(try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["isActive": false]), 200)
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)"), 200, nil, "an inactive event by id")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 409, "event_inactive")
        },
        ConformanceCase("events.delete-keeps-bookings", "PB-EVENT-7", "a deleted event's confirmed bookings stay in GET /bookings/me") { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            let booking = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]])
            try c.expect(booking, 201)
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: try c.admin()), 204)
            let mine = try await c.call(.GET, "/api/v1/bookings/me", token: user.token).objects("bookings").compactMap { $0.string("id") }
            try c.check(mine.contains(booking.object("booking").string("id") ?? "-"), "the booking is gone from bookings/me")
        },
        ConformanceCase("holds.fence-after-release", "PB-HOLD-7", "a grant after a release gets a fence larger than every earlier one") { c in
            let event = try await c.event()
            let user = try await c.user()
            let first = try await c.hold(event, ["A1"], as: user)
            let second = try await c.hold(event, ["A2"], as: user)
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(second.string("id") ?? "")", token: user.token), 204)
            let third = try await c.hold(event, ["A3"], as: user)
            let fences = [first, second, third].map { ($0["fence"] as? NSNumber)?.int64Value ?? -1 }
            try c.check(fences[2] > fences[1] && fences[1] > fences[0], "fences \(fences)")
        },
        ConformanceCase("holds.extend-never-earlier", "PB-HOLD-9", "an extension by 1 s never moves expiresAt earlier, and is not broadcast") { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let hold = try await c.hold(event, ["A1"], as: user)
            _ = try await watcher.next("seat_locked A1") { $0.type == "seat_locked" }
            let reply = try await c.call(
                .POST, "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")/extend", token: user.token, json: ["seconds": 1])
            try c.expect(reply, 200)
            try c.check(WireWorld.ns(reply.object("hold").string("expiresAt")) >= WireWorld.ns(hold.string("expiresAt")), "expiresAt moved earlier")
            try await Task.sleep(for: .milliseconds(300))
            try c.check(watcher.messages.filter { $0.type == "seat_locked" }.count == 1, "the extension was broadcast")
        },
        ConformanceCase(
            "holds.frozen", "PB-HOLD-10", "a hold being checked out can be neither released nor extended (409 checkout_in_progress)",
            needs: [.admin, .testControl]
        ) { c in
            try await releaseDuringStalledCheckout(c, stall: "commit", stallMsPerRound: 1_500, releaseAfter: { $0 / 3 }) { path, user in
                try c.expect(
                    try await c.call(.POST, path + "/extend", token: user.token, json: [:]), 409, "checkout_in_progress",
                    "an extension during the checkout")
            }
        },
        ConformanceCase("holds.release-twice", "PB-HOLD-10", "a second release of the same hold is 404 hold_not_found") { c in
            let event = try await c.event()
            let user = try await c.user()
            let path = "/api/v1/events/\(event)/holds/\(try await c.hold(event, ["A1"], as: user).string("id") ?? "")"
            try c.expect(try await c.call(.DELETE, path, token: user.token), 204)
            try c.expect(try await c.call(.DELETE, path, token: user.token), 404, "hold_not_found", "the second release")
        },
        ConformanceCase("checkout.coverage", "PB-CHECKOUT-1", "every seat must be covered: by the named hold, or by any of the caller's holds") { c in
            let event = try await c.event()
            let user = try await c.user()
            let first = try await c.hold(event, ["A1"], as: user)
            _ = try await c.hold(event, ["A2"], as: user)
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"], "holdId": first.string("id") ?? ""]),
                409, "hold_required", "A2 with the hold of A1 named")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A3"]]), 409, "hold_required",
                "A3 never held")
            let both = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"]])
            try c.expect(both, 201, nil, "two seats of two holds of the caller")
            try c.check(Set(both.object("booking").strings("seatIds")) == ["A1", "A2"], "booked \(both.object("booking").strings("seatIds"))")
        },
        ConformanceCase("checkout.newest-first", "PB-CHECKOUT-2", "GET /bookings/me lists the caller's bookings newest first") { c in
            let event = try await c.event()
            let user = try await c.user()
            var ids: [String] = []
            for seat in ["A1", "A2"] {
                _ = try await c.hold(event, [seat], as: user)
                ids.append(
                    try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": [seat]]).object("booking").string(
                        "id") ?? "")
                try await Task.sleep(for: .milliseconds(20))
            }
            let listed = try await c.call(.GET, "/api/v1/bookings/me", token: user.token).objects("bookings").compactMap { $0.string("id") }.filter(
                ids.contains)
            try c.check(listed == ids.reversed(), "listed oldest first")
        },
        ConformanceCase("checkout.key-scope", "PB-CHECKOUT-6", "keys are per user, and a key of more than 128 characters is 400") { c in
            let event = try await c.event()
            let (first, second) = (try await c.user(0), try await c.user(1))
            _ = try await c.hold(event, ["A1"], as: first)
            _ = try await c.hold(event, ["A2"], as: second)
            let key = ("Idempotency-Key", c.unique("shared"))
            let mine = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: first.token, json: ["seatIds": ["A1"]], headers: [key])
            let theirs = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: second.token, json: ["seatIds": ["A2"]], headers: [key])
            try c.expect(theirs, 201, nil, "another user's checkout with the same key")
            try c.check(theirs.object("booking").string("id") != mine.object("booking").string("id"), "another user got the first user's booking")
            _ = try await c.hold(event, ["A3"], as: first)
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: first.token, json: ["seatIds": ["A3"]],
                    headers: [("Idempotency-Key", String(repeating: "k", count: 129))]), 400, "validation_failed", "a 129-character key")
        },
        ConformanceCase(
            "checkout.key-in-progress", "PB-CHECKOUT-6", "a retry while the first attempt commits is 409 idempotency_in_progress",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            // A round whose retry reached the server before the first attempt's freeze (then the
            // retry is the first, and books) shows nothing: the next round stalls longer.
            for round in 1...3 {
                let seat = "A\(round)"
                _ = try await c.hold(event, [seat], as: user)
                let key = ("Idempotency-Key", c.unique("racing"))
                let stallMs = 1_200 * round
                let sent = ContinuousClock.now
                async let first = c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": [seat]],
                    headers: [key, ("Pulse-Test-Stall", "commit=\(stallMs)")])
                try await Task.sleep(for: .milliseconds(stallMs * 3 / 8))
                let retrySent = ContinuousClock.now
                let retry = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": [seat]], headers: [key])
                let retryAnswered = ContinuousClock.now
                let firstReply = try await first
                let firstAnswered = ContinuousClock.now
                if retry.status == 409, retry.code == "idempotency_in_progress" {
                    try c.expect(firstReply, 201)
                    return
                }
                try c.expect(retry, 201, nil, "the retry during the commit (201 only when it came before the first attempt's freeze)")
                // Sent after the first attempt's freeze, and answered before that attempt's commit
                // stall could have ended (so before its booking existed): a retry that came
                // later is rightly answered the booking.
                try c.check(
                    !(Self.sentAfterFreeze(retrySent, checkoutSent: sent, answered: firstAnswered, stallMs: stallMs)
                        && retryAnswered - sent < .milliseconds(stallMs)),
                    "a retry sent while the first attempt was committing (after its freeze) was answered 201, not 409 idempotency_in_progress")
                let bookings = try await c.bookings(of: user, in: event).filter { $0.strings("seatIds") == [seat] }
                try c.check(bookings.count == 1, "one key, \(bookings.count) bookings of \(seat)")
                c.note("round \(round): the retry came before the first attempt's freeze (the first answered \(firstReply.status)); stalling longer")
            }
            throw CaseInconclusive("in three rounds the retry always reached the server before the first attempt's freeze")
        },
        ConformanceCase(
            "live.token-expiry", "PB-LIVE-1", "an expired token gets no subscription: 401, or error token_expired then 1008", needs: [.testControl]
        ) { c in
            let expired = try await c.token(for: try await c.user(), expiresInSeconds: -5)
            try await c.refusedUpgrade(token: expired, code: "token_expired")
        }.checking(.choice),
        ConformanceCase(
            "live.release-lock-one-seat", "PB-LIVE-3",
            "release_lock releases the seat named, not the rest of its hold; leave_event releases the connection's holds only"
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let rest = try await c.hold(event, ["B1"], as: user)
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let connection = try await c.subscriber(event, as: user)
            connection.send(["type": "release_lock", "eventId": event, "seatId": "A1"])
            _ = try await watcher.next("seat_released A1") { $0.type == "seat_released" && $0.string("seatId") == "A1" }
            connection.send(["type": "request_lock", "eventId": event, "seatId": "B5"])
            _ = try await connection.next("lock_acquired B5") { $0.type == "lock_acquired" }
            connection.send(["type": "leave_event", "eventId": event])
            let left = try await watcher.next("seat_released B5") { $0.type == "seat_released" && $0.string("seatId") == "B5" }
            try c.check(left.string("reason") == "released", "leave_event's release has reason \(left.string("reason") ?? "none"), not released")
            try await Task.sleep(for: .milliseconds(300))
            let released = Set(watcher.messages.filter { $0.type == "seat_released" }.compactMap { $0.string("seatId") })
            try c.check(
                released == ["A1", "B5"], "released \(released.sorted()): only A1 (release_lock) and B5 (the connection's, on leave) expected")
            let holds = try await c.call(.GET, "/api/v1/events/\(event)/holds", token: user.token).objects("holds")
            try c.check(
                holds.contains { $0.string("id") == rest.string("id") } && holds.flatMap { $0.strings("seatIds") }.sorted() == ["A2", "B1"],
                "the user's holds: \(holds.map { $0.strings("seatIds") })")
        },
        ConformanceCase("live.own-changes", "PB-LIVE-7", "a connection hears its own changes too, and a resync from sinceSeq repeats none") { c in
            let event = try await c.event()
            let user = try await c.user()
            let connection = try await c.subscriber(event, as: user)
            connection.send(["type": "request_lock", "eventId": event, "seatId": "A1"])
            let locked = try await connection.next("its own seat_locked") { $0.type == "seat_locked" && $0.string("seatId") == "A1" }
            _ = try await c.hold(event, ["A2"], as: user)
            _ = try await connection.next("seat_locked A2") { $0.type == "seat_locked" && $0.string("seatId") == "A2" }
            let again = try await c.subscriber(event, as: user)
            again.send(["type": "join_event", "eventId": event, "sinceSeq": locked.seq ?? 0])
            let joined = try await again.next(after: 1, "joined") { $0.type == "joined" || $0.type == "snapshot" }
            let replayed = again.messages.dropFirst().prefix { $0.type != "joined" && $0.type != "snapshot" }.compactMap(\.seq)
            try c.check(
                joined.type == "joined" && replayed == [(locked.seq ?? 0) + 1],
                "after sinceSeq \(locked.seq ?? 0): replayed \(replayed), then \(joined.type ?? "-")")
        },
        ConformanceCase(
            "live.resync-edges", "PB-LIVE-8",
            "a sinceSeq ahead of the event gets a snapshot; one 1,100 changes back gets a snapshot or every change since, never part"
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            let connection = try await c.subscriber(event, as: user)
            let first = connection.messages[0].seq ?? 0
            connection.send(["type": "join_event", "eventId": event, "sinceSeq": 1 << 52])
            let ahead = try await connection.next(after: 1, "the answer to a sinceSeq ahead") { $0.type == "snapshot" || $0.type == "joined" }
            try c.check(ahead.type == "snapshot", "a sinceSeq ahead of the event got \(ahead.type ?? "-")")
            let seats = (1...10).map { "A\($0)" }
            for _ in 0..<55 {
                let hold = try await c.hold(event, seats, as: user)
                try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")", token: user.token), 204)
            }
            let again = c.live(user.token)
            again.send(["type": "join_event", "eventId": event, "sinceSeq": first])
            let answer = try await again.next(seconds: 10, "the answer to a sinceSeq 1,100 changes back") {
                $0.type == "snapshot" || $0.type == "joined"
            }
            if answer.type == "joined" {
                let replayed = again.messages.prefix { $0.type != "joined" }.compactMap(\.seq)
                try c.check(
                    replayed == Array((first + 1)...(first + 1_100)),
                    "joined after a replay of \(replayed.count) changes from \(replayed.first ?? -1), not the 1,100 since \(first)")
            }
        },
        ConformanceCase(
            "live.expiry-seq", "PB-LIVE-5", "an expiry takes exactly the next seq, one per seat, and the next change the one after",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            let watcher = try await c.subscriber(event, as: user)
            let start = watcher.messages[0].seq ?? 0
            _ = try await c.hold(event, ["A1", "A2"], as: user, headers: try c.shortTTL(1))
            _ = try await watcher.waitUntil(seconds: 20, "both expiries") { $0.filter { $0.type == "seat_released" }.count >= 2 }
            _ = try await c.hold(event, ["A3"], as: user)
            let seen = try await watcher.waitUntil("the next seat_locked") { $0.filter { $0.type == "seat_locked" }.count >= 3 }
            let seqs = seen.dropFirst().compactMap(\.seq)
            try c.check(seqs == Array((start + 1)...(start + 5)), "seqs \(seqs) after the snapshot's \(start)")
        },
        ConformanceCase("checkout.cents", "PB-CHECKOUT-4", "the total is exact in cents: three seats at 0.10 cost 0.30") { c in
            let event = try await c.event(price: 0.1)
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2", "A3"], as: user)
            let reply = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2", "A3"]])
            try c.expect(reply, 201)
            try c.check(reply.object("booking").double("totalAmount") == 0.3, "totalAmount is \(reply.object("booking")["totalAmount"] ?? "absent")")
        },
        ConformanceCase(
            "race.join-during-burst", "PB-LIVE-7", "subscribers joining during a burst of changes each get a snapshot, then every later change once",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event(rows: 2, cols: 10)
            var users: [TestUser] = []
            for _ in 0..<10 { users.append(try await c.user()) }
            // The event's seq before the burst (a new event's first seq need not be 0), and after it.
            let base = try await c.subscriber(event, as: users[0]).messages[0].seq ?? 0
            let last = base + 20
            let joiners = (0..<8).map { _ in c.live(users[0].token) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, user) in users.enumerated() {
                    group.addTask {
                        _ = try await c.call(
                            .POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A\(index + 1)", "B\(index + 1)"]])
                    }
                }
                for (index, joiner) in joiners.enumerated() {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(3 * index))
                        joiner.send(["type": "join_event", "eventId": event])
                    }
                }
                try await group.waitForAll()
            }
            for (index, joiner) in joiners.enumerated() {
                let snapshot = try await joiner.next("joiner \(index)'s snapshot") { $0.type == "snapshot" }
                let from = snapshot.seq ?? -1
                let messages = try await joiner.waitUntil("joiner \(index) up to the burst's last seq") {
                    from >= last || ($0.last?.seq ?? 0) >= last
                }
                let after = messages.drop { $0.type != "snapshot" }.dropFirst().compactMap(\.seq)
                let locked = ((snapshot.json?["seats"] as? [[String: Any]]) ?? []).filter { $0["status"] as? String == "locked" }.count
                try c.check(
                    after == (from < last ? Array((from + 1)...last) : []),
                    "joiner \(index): snapshot at \(from - base), then \(after.map { $0 - base })")
                try c.check(Int64(locked) == from - base, "joiner \(index)'s snapshot at seq \(from - base) shows \(locked) seats locked")
            }
        },
        ConformanceCase("security.error-headers", "PB-SEC-1", .should, "error answers carry the security headers too", needs: []) { c in
            let reply = try await c.call(.GET, "/api/v1/no-such-route")
            try c.check(reply.headers.first(name: "X-Content-Type-Options")?.lowercased() == "nosniff", "a 404 lacks X-Content-Type-Options")
        },
        ConformanceCase("holds.list-own", "PB-HOLD-11", .should, "GET holds lists the caller's holds only") { c in
            let event = try await c.event()
            _ = try await c.hold(event, ["A1"], as: try await c.user(0))
            let other = try await c.call(.GET, "/api/v1/events/\(event)/holds", token: try await c.user(1).token)
            try c.expect(other, 200, nil, "the hold list")  // a missing route lists nothing, and is no conformance
            try c.check(other.objects("holds").isEmpty, "another user's holds are listed")
        },
        ConformanceCase(
            "testcontrol.hot-stall", "PB-TEST-5",
            "hot= stalls a checkout after its first hot step, the freeze: meanwhile its hold cannot be released",
            needs: [.admin, .testControl]
        ) { c in
            try await releaseDuringStalledCheckout(c, stall: "hot", stallMsPerRound: 1_000, releaseAfter: { $0 * 2 / 5 }) { _, _ in }
        },
        ConformanceCase(
            "checkout.lease-fenced", "PB-CHECKOUT-5", "a commit stalled past its checkout's lease never lands over a newer hold: 409 hold_superseded",
            needs: [.admin, .testControl]
        ) { c in
            // A lease of 1 s (PB-TEST-8) and a commit stalled 2.8 s: meanwhile the server decides
            // the checkout (it had not committed: the seat is released), a rival holds the seat,
            // and then the commit comes, to be refused by its fence.
            try await leaseRounds(c, leaseMs: 1_000, stallMs: 2_800) { round in
                guard round.rivalHeld else {
                    c.note("round \(round.number): the seat was not free before the commit came (the checkout answered \(round.checkout.status))")
                    return false
                }
                try c.expect(round.checkout, 409, "hold_superseded", "the commit that came after its lease")
                try c.check(try await c.bookings(of: round.first, in: round.event).isEmpty, "the late commit left a booking")
                return true
            }
        },
        ConformanceCase(
            "checkout.lease-decides", "PB-CHECKOUT-7",
            "when a failed commit's lease runs out its seats are released as expired; a lost commit's seats are announced booked",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            _ = try await c.hold(event, ["A1"], as: user)
            _ = try await c.hold(event, ["A2"], as: user)
            let lease = ("Pulse-Test-Lease", "600")
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]],
                    headers: [lease, ("Pulse-Test-Fault", "commit=fail")]),
                503, "store_unavailable", "commit=fail")
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A2"]],
                    headers: [lease, ("Pulse-Test-Fault", "commit=lost")]),
                503, "store_unavailable", "commit=lost")
            let released = try await watcher.next(seconds: 20, "A1 released when its lease ran out") {
                $0.type == "seat_released" && $0.string("seatId") == "A1"
            }
            try c.check(released.string("reason") == "expired", "A1 released with reason \(released.string("reason") ?? "none"), not expired")
            _ = try await watcher.next(seconds: 20, "A2 announced booked when its lease ran out") {
                $0.type == "seats_booked" && ($0.json?["seatIds"] as? [String] ?? []).contains("A2")
            }
            try await Task.sleep(for: .milliseconds(300))
            try c.check(
                !watcher.messages.contains { $0.type == "seat_released" && $0.string("seatId") == "A2" },
                "the lost commit's booked seat was announced released")
            let seats = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
            try c.check(
                seats.first { $0.string("id") == "A2" }?.string("status") == "booked"
                    && seats.first { $0.string("id") == "A1" }?.string("status") == "available",
                "the map after the leases: A1 \(seats.first { $0.string("id") == "A1" }?.string("status") ?? "-"), A2 \(seats.first { $0.string("id") == "A2" }?.string("status") ?? "-")"
            )
        },
        ConformanceCase(
            "testcontrol.lease", "PB-TEST-8", "Pulse-Test-Lease shortens a checkout's lease: the server decides it when that runs out",
            needs: [.admin, .testControl]
        ) { c in
            // The hold's own TTL runs out during the stalled commit too: whether a lease that
            // runs out also releases a hold still within its TTL is left open by SPEC.md.
            try await leaseRounds(c, leaseMs: 500, stallMs: 2_000) { round in
                if round.rivalHeld { return true }
                // The seat never came free while the checkout stalled: decided against it (409),
                // it must be free now; a checkout that booked kept a lease that had run out.
                try c.check(round.checkout.status != 201, "the checkout booked after its 500 ms lease ran out during its 2000 ms commit stall")
                try c.expect(
                    try await c.call(.POST, "/api/v1/events/\(round.event)/holds", token: round.second.token, json: ["seatIds": [round.seat]]),
                    201, nil, "a hold of the seat once the checkout whose 500 ms lease ran out was refused")
                return true
            }
        },
        ConformanceCase("testcontrol.one-admin", "PB-TEST-2", "the admin-token route gives the same admin account every time", needs: [.testControl])
        { c in
            let first = try await c.call(.POST, "/api/v1/test-control/admin-token", json: [:]).object("user").string("id")
            let second = try await c.call(.POST, "/api/v1/test-control/admin-token", json: [:]).object("user").string("id")
            try c.check(first != nil && first == second, "admin ids \(first ?? "-") and \(second ?? "-")")
        },
    ]
}

extension Catalogue {
    /// One round of a checkout with a short lease (`Pulse-Test-Lease`) whose commit is stalled
    /// past it, while a rival tries the seat every 100 ms until the checkout answers.
    struct LeaseRound {
        var number: Int
        var event: String
        var seat: String
        var first: TestUser
        var second: TestUser
        /// Whether the rival held the seat before the checkout answered.
        var rivalHeld: Bool
        var checkout: APIReply
    }

    /// Runs up to three lease rounds (the hold's TTL 1, 1, then 2 s: always inside the lease and
    /// the stall, so that the hold has lapsed by the commit) until `judge` decides one
    /// (true). A round whose checkout was refused `hold_expired` before its commit stall could
    /// have ended came after its hold lapsed (a slow client): it shows nothing and runs again;
    /// one answered so after the stall was refused by its fence with the wrong code.
    static func leaseRounds(_ c: CaseContext, leaseMs: Int, stallMs: Int, judge: (LeaseRound) async throws -> Bool) async throws {
        let event = try await c.event()
        let (first, second) = (try await c.user(0), try await c.user(1))
        for (number, ttl) in [(1, 1), (2, 1), (3, 2)] {
            let seat = "A\(number)"
            _ = try await c.hold(event, [seat], as: first, headers: try c.shortTTL(ttl))
            let sent = ContinuousClock.now
            let answered = Flag()
            let checkout = Task {
                defer { answered.set() }
                let reply = try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: first.token, json: ["seatIds": [seat]],
                    headers: [("Pulse-Test-Lease", "\(leaseMs)"), ("Pulse-Test-Stall", "commit=\(stallMs)")])
                return (reply: reply, answered: ContinuousClock.now)
            }
            try await Task.sleep(for: .milliseconds(leaseMs + 100))
            var rivalHeld = false
            while !rivalHeld, !answered.isSet {
                let rival = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: second.token, json: ["seatIds": [seat]])
                rivalHeld = rival.status == 201
                if !rivalHeld { try await Task.sleep(for: .milliseconds(100)) }
            }
            let (reply, answeredAt) = try await checkout.value
            if reply.status == 410, reply.code == "hold_expired", answeredAt - sent < .milliseconds(stallMs) {
                c.note("round \(number): the checkout came after its hold's \(ttl) s TTL (answered 410 before its stall could end); again")
                continue
            }
            let round = LeaseRound(number: number, event: event, seat: seat, first: first, second: second, rivalHeld: rivalHeld, checkout: reply)
            if try await judge(round) { return }
        }
        throw CaseInconclusive("in three rounds the checkout came after its hold lapsed, or the seat never came free before the commit")
    }

    /// A flag set once, read from any task.
    final class Flag: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    }

    /// A checkout stalled (`Pulse-Test-Stall: <stall>=ms`) after freezing its hold, and a release of
    /// that hold sent `releaseAfter(ms)` into the stall: the release must be 409
    /// `checkout_in_progress`; then `whileFrozen` checks more with the hold's path, and the
    /// checkout must book. A round whose release reached the server before the freeze (the
    /// checkout then finds no hold) shows nothing, and the next round stalls longer (`round` x
    /// `stallMsPerRound`); three such rounds are INCONCLUSIVE. A release answered 204 fails the
    /// case when the checkout then booked the released hold, or when it was surely sent after the
    /// freeze (``sentAfterFreeze(_:checkoutSent:answered:stallMs:)``).
    static func releaseDuringStalledCheckout(
        _ c: CaseContext, stall: String, stallMsPerRound: Int, releaseAfter: (Int) -> Int,
        whileFrozen: (String, TestUser) async throws -> Void
    ) async throws {
        let event = try await c.event()
        let user = try await c.user()
        for round in 1...3 {
            let seat = "A\(round)"
            let hold = try await c.hold(event, [seat], as: user)
            let stallMs = stallMsPerRound * round
            let sent = ContinuousClock.now
            let checkout = Task {
                let reply = try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": [seat]],
                    headers: [("Pulse-Test-Stall", "\(stall)=\(stallMs)")])
                return (reply: reply, answered: ContinuousClock.now)
            }
            try await Task.sleep(for: .milliseconds(releaseAfter(stallMs)))
            let path = "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")"
            let releaseSent = ContinuousClock.now
            let release = try await c.call(.DELETE, path, token: user.token)
            let releaseAnswered = ContinuousClock.now
            if release.status == 409, release.code == "checkout_in_progress" {
                try await whileFrozen(path, user)
                try c.expect(try await checkout.value.reply, 201, nil, "the stalled checkout")
                return
            }
            if release.status == 404, release.code == "hold_not_found", case (let booked, let answered) = try await checkout.value,
                booked.status == 201
            {
                // The hold was booked: by a checkout that skipped its stall, or one whose stall
                // was over before the release came (a slow client). A checkout that honours its
                // stall books no sooner than `stallMs` after it was sent, so a 404 answered
                // before then met a hold not booked yet (204 or 409 were due).
                let took = answered - sent
                let stallTime = Duration.milliseconds(stallMs)
                try c.check(took >= stallTime, "the checkout stalled for \(stallMs) ms answered in \(took.nanoseconds / 1_000_000) ms")
                try c.check(
                    releaseAnswered - sent >= stallTime,
                    "a release answered 404 hold_not_found \((releaseAnswered - sent).nanoseconds / 1_000_000) ms after the checkout of its hold was sent, before its \(stallMs) ms stall could have ended"
                )
                c.note(
                    "round \(round): the release came after the checkout had booked the hold (sent \((releaseSent - sent).nanoseconds / 1_000_000) ms into a \(stallMs) ms stall); again with a longer stall"
                )
                continue
            }
            try c.expect(release, 204, nil, "a release while the checkout is stalled after its freeze")
            let booked = try await checkout.value.reply
            try c.check(booked.status != 201, "a release answered 204 while the checkout was frozen, and the checkout then booked the released hold")
            try c.check(
                !sentAfterFreeze(releaseSent, checkoutSent: sent, answered: ContinuousClock.now, stallMs: stallMs),
                "a release sent after the checkout had frozen its hold (the checkout went through its \(stallMs) ms stall) answered 204")
            c.note("round \(round): the release came before the checkout's freeze (the checkout answered \(booked.status)); stalling longer")
        }
        throw CaseInconclusive(
            "in three rounds (stalls of \(stallMsPerRound), \(2 * stallMsPerRound) and \(3 * stallMsPerRound) ms) "
                + "the release always reached the server before the checkout's freeze or after its booking")
    }

    /// Whether a request sent at `sent` certainly reached the server after a checkout (sent at
    /// `checkoutSent`, answered at `answered`) had frozen its holds: the checkout went through its
    /// whole stall of `stallMs` after its freeze, so it froze no later than `answered - stallMs`.
    static func sentAfterFreeze(
        _ sent: ContinuousClock.Instant, checkoutSent: ContinuousClock.Instant, answered: ContinuousClock.Instant,
        stallMs: Int
    ) -> Bool {
        let stall = Duration.milliseconds(stallMs)
        return answered - checkoutSent >= stall && sent > answered - stall
    }
}
