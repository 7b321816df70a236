import Foundation
import PulseWire

/// Cases for clauses that no other case exercised: frames and limits of the live protocol, the
/// shape of an event, the test-control profile itself, the admin role, the signing secret.
extension Catalogue {
    static let clauses: [ConformanceCase] = [
        ConformanceCase("events.shape", "PB-EVENT-1", "an event has every field of PB-EVENT-1 with its type, and derived counts that add up") { c in
            let event = try await c.event(rows: 2, cols: 5)
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            _ = try await c.hold(event, ["A2"], as: user)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A2"]]), 201)
            let shown = try await c.call(.GET, "/api/v1/events/\(event)").object("event")
            for key in ["id", "title", "venue", "date"] { try c.check(shown[key] is String, "\(key) is \(shown[key] ?? "absent")") }
            try c.check(shown["isActive"] as? Bool == true, "isActive is \(shown["isActive"] ?? "absent")")
            let config = shown.object("venueConfig")
            try c.check(config.int("rows") == 2 && config.int("cols") == 5 && config["price"] is NSNumber, "venueConfig is \(config)")
            // One seat held (still available, PB-EVENT-2) and one booked, of ten.
            try c.check(
                shown.int("totalSeats") == 10 && shown.int("availableSeats") == 9,
                "totalSeats \(shown["totalSeats"] ?? "-"), availableSeats \(shown["availableSeats"] ?? "-") (10 seats, 1 held, 1 booked)")
            let listed = try await c.call(.GET, "/api/v1/events").objects("events").first { $0.string("id") == event }
            try c.check(listed?.int("availableSeats") == 9 && listed?.int("totalSeats") == 10, "the list shows \(listed ?? [:])")
        },
        ConformanceCase("holds.released-not-live", "PB-HOLD-1", "only a live hold allows checkout: a released hold's seats cannot be bought") { c in
            let event = try await c.event()
            let user = try await c.user()
            let hold = try await c.hold(event, ["A1"], as: user)
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")", token: user.token), 204)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 409, "hold_required")
            try c.check(try await c.bookings(of: user, in: event).isEmpty, "a booking without a live hold")
        },
        ConformanceCase(
            "holds.extend-cap", "PB-HOLD-9", "a hold's extensions stop at 3 x its own TTL; seconds beyond its TTL is 400",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            let hold = try await c.hold(event, ["A1"], as: user, headers: try c.shortTTL(2))
            let path = "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")/extend"
            let firstExpiry = WireWorld.ns(hold.string("expiresAt"))
            let beyond = try await c.call(.POST, path, token: user.token, json: ["seconds": 3])
            try c.expect(beyond, 400, "validation_failed", "seconds beyond the hold's 2 s TTL")
            try c.check(beyond.json["field"] as? String == "seconds", "field is \(beyond.json["field"] ?? "absent")")
            // Granted at firstExpiry - 2 s; the cap is grant + 6 s = firstExpiry + 4 s. Extend every
            // quarter second (each extension gives 2 s more, up to the cap) until the cap is reached:
            // however slow the machine, the hold is extended long before it runs out, and an
            // extension the suite itself sent too late says so instead of failing the target.
            let cap = firstExpiry + 4_000_000_000
            let skew: Int64 = 500_000_000
            var last = firstExpiry
            var extensions = 0
            // A bound on the work, not on the seconds: 40 extensions a quarter second apart pass
            // the 4 s to the cap on any machine.
            while last < cap, extensions < 40 {
                extensions += 1
                try await Task.sleep(for: .milliseconds(250))
                let sentAt = WireRecorder.nowNs()
                let reply = try await c.call(.POST, path, token: user.token, json: [:])
                let answeredAt = WireRecorder.nowNs()
                // The server decided somewhere between sending and answer: a 410 whose answer came
                // at or after the expiry (give or take the clocks) may be right.
                if reply.status == 410, answeredAt + skew >= last {
                    throw CaseInconclusive(
                        "an extension sent \((last - sentAt) / 1_000_000) ms before the hold's expiresAt was answered "
                            + "\((answeredAt - last) / 1_000_000) ms after it (410): the machine ran too slowly to keep a 2 s hold alive")
                }
                try c.expect(reply, 200, nil, "an extension sent \((last - sentAt) / 1_000_000) ms before the hold's expiresAt")
                let next = WireWorld.ns(reply.object("hold").string("expiresAt"))
                try c.check(
                    next <= cap, "an extension moved expiresAt \((next - firstExpiry) / 1_000_000) ms past the first, beyond the cap of 4000 ms")
                try c.check(
                    next >= min(sentAt + 2_000_000_000 - skew, cap),
                    "an extension answered 200 with expiresAt \((next - sentAt) / 1_000_000) ms after it was sent, not 2 s (or the cap)")
                last = next
            }
            try c.check(
                last == cap,
                "after \(extensions) extensions expiresAt is \((last - firstExpiry) / 1_000_000) ms after the first, not 4000 ms (the cap)")
        },
        ConformanceCase("live.json-frames", "PB-LIVE-2", "every message is one JSON object with a type, one per text frame") { c in
            let event = try await c.event()
            let user = try await c.user()
            let connection = try await c.subscriber(event, as: user)
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            _ = try await connection.waitUntil("two seat_locked") { $0.filter { $0.type == "seat_locked" }.count >= 2 }
            for message in connection.messages {
                try c.check(message.type != nil, "a frame is not one JSON object with a type: \(message.text.prefix(120))")
            }
        },
        ConformanceCase("live.slow-consumer", "PB-LIVE-10", "a subscriber that stops reading is closed with 1008 slow_consumer, never skipped") { c in
            try await slowConsumer(c)
        }.taking(seconds: 240),
        ConformanceCase("limits.live-frame", "PB-LIMIT-3", "a live frame above 16 KiB closes the connection with 1009") { c in
            let connection = c.live(try await c.user().token)
            connection.send(["type": "join_event", "eventId": String(repeating: "a", count: 17 * 1024)])
            _ = try? await connection.waitUntil(seconds: 30, "the connection to close") { _ in connection.closed }
            try c.check(
                connection.closed && connection.closeCode == 1009,
                "closed: \(connection.closed), status \(connection.closeCode.map(String.init) ?? "none")")
        },
        ConformanceCase(
            "limits.subscriptions", "PB-LIMIT-3", "a connection follows at most 16 events: the 17th join is an error too_many_subscriptions"
        ) { c in
            var events: [String] = []
            for _ in 0..<17 { events.append(try await c.event(rows: 1, cols: 1)) }
            let connection = c.live(try await c.user().token)
            for event in events.prefix(16) {
                connection.send(["type": "join_event", "eventId": event])
                _ = try await connection.next("snapshot of \(event)") { $0.type == "snapshot" && $0.string("eventId") == event }
            }
            connection.send(["type": "join_event", "eventId": events[16]])
            let answer = try await connection.next(after: 16, "the answer to the 17th join") { $0.type == "error" || $0.type == "snapshot" }
            try c.check(answer.type == "error" && answer.string("code") == "too_many_subscriptions", "the 17th join got \(answer.text)")
        },
        ConformanceCase(
            "limits.per-request", "PB-LIMIT-2", "a checkout of more seats than the per-user cap, and a test TTL beyond 3600 s, are 400",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event(rows: 2, cols: 10)
            let user = try await c.user()
            let seats = (1...10).map { "A\($0)" } + ["B1"]
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": seats]), 400, "validation_failed",
                "a checkout of 11 seats")
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A1"]], headers: [("Pulse-Test-Hold-TTL", "3601")]),
                400, "validation_failed", "a hold TTL of 3601 s")
        },
        ConformanceCase("auth.admin-role", "PB-AUTH-5", "the operator's admin has role admin; a signed-up user never does") { c in
            let admin = try await c.call(.GET, "/api/v1/users/me", token: try c.admin())
            try c.expect(admin, 200)
            try c.check(admin.object("user").string("role") == "admin", "the admin's role is \(admin.object("user").string("role") ?? "absent")")
            let user = try await c.call(.GET, "/api/v1/users/me", token: try await c.user().token)
            try c.check(user.object("user").string("role") == "user", "a signed-up user's role is \(user.object("user").string("role") ?? "absent")")
            // The operator's own admin (--admin-email), when given beside test control's.
            if let operatorToken = c.session.operatorAdminToken {
                let role = try await c.call(.GET, "/api/v1/users/me", token: operatorToken).object("user").string("role")
                try c.check(role == "admin", "the operator's admin (--admin-email) has role \(role ?? "absent")")
            }
        },
        ConformanceCase("security.secret", "PB-SEC-2", "tokens are not signed with a guessable secret", needs: []) { c in
            let token = try await c.user().token
            if let secret = WeakSecrets.signs(token) { throw CaseFailure("the signing secret is \"\(secret)\"") }
        },
        ConformanceCase(
            "durability.restart", "PB-CHECKOUT-2",
            "an acknowledged booking survives the target's crash and restart; seqs go on above the old ones", needs: [.admin, .restart]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let booked = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]])
            try c.expect(booked, 201)
            let before =
                ((try await c.call(.GET, "/api/v1/events/\(event)/seats").json["data"] as? [String: Any])?["seq"] as? NSNumber)?.int64Value ?? -1
            try await c.restartTarget()
            let mine = try await c.bookings(of: user, in: event)
            try c.check(
                mine.contains { c.documentID($0) == c.documentID(booked.object("booking")) }, "the acknowledged booking is gone after the restart")
            let map = try await c.call(.GET, "/api/v1/events/\(event)/seats")
            try c.check(map.objects("seats").first { $0.string("id") == "A1" }?.string("status") == "booked", "A1 is not booked after the restart")
            let after = ((map.json["data"] as? [String: Any])?["seq"] as? NSNumber)?.int64Value ?? -1
            try c.check(after > before, "the seq went from \(before) to \(after) across the restart (PB-LIVE-5: seqs only grow)")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user(1).token, json: ["seatIds": ["A1"]]), 409,
                "seat_unavailable",
                "a hold of the booked seat after the restart")
        }.last(),
        ConformanceCase(
            "testcontrol.profile", "PB-TEST-1", .info, "GET /api/v1/test-control says the profile, TTL, cap and headers", needs: [.testControl]
        ) { c in
            let reply = try await c.call(.GET, "/api/v1/test-control")
            c.note("profile: \(reply.json["data"] ?? "absent")")
        },
        ConformanceCase("testcontrol.admin-token", "PB-TEST-2", "the admin token belongs to an admin", needs: [.testControl]) { c in
            let reply = try await c.call(.POST, "/api/v1/test-control/admin-token", json: [:])
            try c.expect(reply, 200)
            try c.check(
                reply.json["token"] is String && reply.object("user").string("role") == "admin", "no token, or the user is \(reply.object("user"))")
        },
        ConformanceCase("testcontrol.hold-ttl", "PB-TEST-3", "Pulse-Test-Hold-TTL grants a hold of that TTL", needs: [.admin, .testControl]) { c in
            let event = try await c.event()
            let before = WireRecorder.nowNs()
            let hold = try await c.hold(event, ["A1"], as: try await c.user(), headers: try c.shortTTL(3))
            let after = WireRecorder.nowNs()
            // Granted somewhere between the request and its answer, however slow the machine: the
            // TTL seen from here lies in [3 s, 3 s + the round trip], give or take the clocks' 0.5 s.
            let ttl = Double(WireWorld.ns(hold.string("expiresAt")) - before) / 1e9
            let roundTrip = Double(after - before) / 1e9
            try c.check(
                (2.5...(3.5 + roundTrip)).contains(ttl),
                "the hold expires \(ttl) s after it was asked for (answered after \(roundTrip) s), not 3 s after its grant")
        },
        ConformanceCase(
            "testcontrol.client-buckets", "PB-TEST-4", "Pulse-Test-Client gives each client its own rate-limit bucket", needs: [.testControl]
        ) { c in
            let (first, second) = (c.unique("bucket"), c.unique("bucket"))
            var statuses: [Int] = []
            for _ in 0..<11 {
                statuses.append(
                    try await c.call(
                        .POST, "/api/v1/users/login", json: ["email": c.unique("nobody") + "@conform.invalid", "password": "whatever1"],
                        headers: [("Pulse-Test-Client", first)]
                    ).status)
            }
            let other = try await c.call(
                .POST, "/api/v1/users/login", json: ["email": c.unique("nobody") + "@conform.invalid", "password": "whatever1"],
                headers: [("Pulse-Test-Client", second)])
            try c.check(statuses.last == 429 && other.status == 401, "client \(first): \(statuses); another client's first attempt: \(other.status)")
        }.expectingRateLimits(),
        ConformanceCase("testcontrol.stall", "PB-TEST-5", "Pulse-Test-Stall before= delays a request by its ms", needs: [.admin, .testControl]) { c in
            let event = try await c.event()
            let started = ContinuousClock.now
            // The seat map (PB-SEAT-2, a MUST route): a MUST case stands on MUST routes only.
            _ = try await c.call(
                .GET, "/api/v1/events/\(event)/seats", token: try await c.user().token, headers: [("Pulse-Test-Stall", "before=600")])
            try c.check(ContinuousClock.now - started >= .milliseconds(600), "the answer came \(ContinuousClock.now - started) after the request")
        },
        ConformanceCase(
            "testcontrol.token", "PB-TEST-6", "the expiring-token route signs a token of the caller whose exp is now + n", needs: [.testControl]
        ) { c in
            let user = try await c.user()
            let token = try await c.token(for: user, expiresInSeconds: 100)
            let payload = try JWT.decode(String(token.split(separator: ".").dropFirst().first ?? ""))
            let (iat, exp) = ((payload["iat"] as? NSNumber)?.doubleValue ?? 0, (payload["exp"] as? NSNumber)?.doubleValue ?? 0)
            try c.check(payload["id"] as? String == user.id && abs(exp - iat - 100) < 1.5, "payload \(payload)")
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me", token: token), 200, nil, "the token's first use")
        },
        ConformanceCase(
            "testcontrol.commit-fault", "PB-TEST-7", "commit=fail writes nothing; commit=lost writes the booking; both answer 503",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            _ = try await c.hold(event, ["A2"], as: user)
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]],
                    headers: [("Pulse-Test-Fault", "commit=fail")]),
                503, "store_unavailable", "commit=fail")
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A2"]],
                    headers: [("Pulse-Test-Fault", "commit=lost")]),
                503, "store_unavailable", "commit=lost")
            let seats = try await c.bookings(of: user, in: event).flatMap { $0.strings("seatIds") }
            try c.check(seats == ["A2"], "booked seats after the two faults: \(seats) (A2 only expected)")
        },
        ConformanceCase(
            "testcontrol.malformed", "PB-TEST-5", "a malformed test-control header or body is 400 validation_failed naming it",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            for (header, value) in [
                ("Pulse-Test-Hold-TTL", "soon"), ("Pulse-Test-Stall", "later=5"), ("Pulse-Test-Client", String(repeating: "x", count: 65)),
                ("Pulse-Test-Fault", "commit=maybe"),
            ] {
                let reply = try await c.call(
                    .POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A1"]], headers: [(header, value)])
                try c.expect(reply, 400, "validation_failed", "\(header): \(value.prefix(20))")
                try c.check(reply.json["field"] as? String == header, "field is \(reply.json["field"] ?? "absent"), not \(header)")
            }
            let token = try await c.call(.POST, "/api/v1/test-control/token", token: user.token, json: ["expiresInSeconds": 100_000])
            try c.expect(token, 400, "validation_failed", "an expiring token of 100000 s")
        },
    ]
}

extension CaseContext {
    /// A token of `user` expiring in `seconds` (PB-TEST-6).
    func token(for user: TestUser, expiresInSeconds seconds: Int) async throws -> String {
        let reply = try await call(.POST, "/api/v1/test-control/token", token: user.token, json: ["expiresInSeconds": seconds])
        try expect(reply, 200, nil, "an expiring token")
        return try require(reply.json["token"] as? String, "the expiring token's answer has no token")
    }

    /// Checks PB-LIVE-1's refusal of an upgrade with `token` (nil: none): one `error` with `code`
    /// then close 1008, or, when no message came, a 401 with `code` for the same upgrade over HTTP.
    func refusedUpgrade(token: String?, code: String) async throws {
        let connection = live(token)
        // Generous: a busy machine (a CI run of every suite at once) can hold a connection up for seconds.
        _ = try? await connection.waitUntil(seconds: 15, "the refused upgrade to end") { _ in connection.closed }
        let what = token == nil ? "an upgrade without a token" : "an upgrade with a bad token"
        try check(connection.closed, "\(what) stayed open (received \(connection.messages.map(\.text)))")
        if let first = connection.messages.first {
            try check(
                connection.messages.count == 1 && first.type == "error" && first.string("code") == code,
                "\(what) got \(connection.messages.map(\.text)), not one error \(code)")
            try check(connection.closeCode == 1008, "\(what) closed with \(connection.closeCode.map(String.init) ?? "no status"), not 1008")
        } else {
            let reply = try await call(
                .GET, "/api/v1/live" + (token.map { "?token=\($0)" } ?? ""),
                headers: [
                    ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ])
            try expect(reply, 401, code, "\(what), refused over HTTP")
        }
    }
}

extension Catalogue {
    /// PB-LIVE-10 on any machine: a subscriber reads nothing while the server first sends it enough
    /// snapshots to fill every kernel buffer between (their bound read from this machine's kernel
    /// for a loopback target, see ``SocketBufferBound``), then many more change messages than a
    /// server may queue; then it reads everything. ``SlowConsumerVerdict`` decides from what came.
    static func slowConsumer(_ c: CaseContext) async throws {
        let event = try await c.event(rows: 26, cols: 50)
        guard let url = URL(string: c.session.baseURL), let host = url.host, let port = url.port else {
            throw CaseFailure("cannot read host and port from \(c.session.baseURL)")
        }
        // Up to four accounts make the changes (each holds seats of a row of its own).
        var users = [try await c.user(0)]
        for index in 1..<4 { if let user = try? await c.user(index) { users.append(user) } }
        let probe = try await c.subscriber(event, as: users[0])
        let snapshotBytes = max(1, probe.messages.first { $0.json?["type"] as? String == "snapshot" }?.text.utf8.count ?? 1)
        let stalled = try StalledWebSocket(host: host, port: port, path: "/api/v1/live?token=\(users[0].token)")
        let bound = SocketBufferBound.bytes(host: host, receiveBufferBytes: stalled.receiveBufferBytes)
        let joins = bound.bytes / snapshotBytes + 2
        c.note("buffers between: at most \(bound.bytes) bytes (\(bound.source)); \(joins) joins of a \(snapshotBytes)-byte snapshot fill them")
        for index in 0..<joins {
            try stalled.send(#"{"type":"join_event","eventId":"\#(event)"}"#)
            // Without test control, at most ten live messages a second after a burst (PB-LIMIT-4).
            if !c.session.testControl, index >= 40 { try await Task.sleep(for: .milliseconds(100)) }
        }
        // A connection's messages are handled in order: once the seat it locks last is locked,
        // every join before it was handled and its snapshot queued, ahead of the changes below.
        try stalled.send(#"{"type":"request_lock","eventId":"\#(event)","seatId":"\#(try await c.seat(event, "Z50"))"}"#)
        let barrier = ContinuousClock.now + .seconds(60)
        var locked = false
        while !locked, ContinuousClock.now < barrier {
            let seats = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
            locked = seats.contains { $0.string("label") == "Z50" && $0.string("status") != "available" }
            if !locked { try await Task.sleep(for: .milliseconds(200)) }
        }
        if !locked { c.note("the stalled connection's request_lock of Z50 was not seen within 60 s: its joins may not all have been handled") }
        // Changes: nine seats held, then released, per round and account (eighteen messages; the
        // first account also holds Z50), until far more than a server may queue.
        let rounds = (SlowConsumerVerdict.queuedMax + 2 * SlowConsumerVerdict.bufferedMessagesMargin) / (18 * users.count) + 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (row, user) in zip(["A", "B", "C", "D"], users) {
                group.addTask {
                    let seats = try await (1...9).asyncMap { try await c.seat(event, "\(row)\($0)") }
                    for _ in 0..<rounds {
                        let hold = try await c.hold(event, seats, as: user)
                        try c.expect(
                            try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")", token: user.token), 204, nil,
                            "a release")
                    }
                }
            }
            try await group.waitForAll()
        }
        // Read everything queued. A server that kept the subscriber open may still have dropped the
        // newest messages: one more change, made once the stream has gone quiet, shows them as a gap.
        let reading = { (seconds: Int) in
            await withCheckedContinuation { continuation in Thread { continuation.resume(returning: stalled.drain(seconds: seconds)) }.start() }
        }
        var drained = await reading(3)
        if drained.closeCode == nil, !drained.endOfStream {
            let hold = try await c.hold(event, [try await c.seat(event, "Z1")], as: users[0])
            try c.expect(
                try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")", token: users[0].token), 204, nil, "a release")
            let more = await reading(10)
            drained.frames += more.frames
            drained.bytes += more.bytes
            (drained.closeCode, drained.closeReason, drained.endOfStream) = (more.closeCode, more.closeReason, more.endOfStream)
        }
        let lastSeq =
            (try await c.subscriber(event, as: users[0]).messages.first { $0.json?["type"] as? String == "snapshot" }?.json?["seq"] as? NSNumber)?
            .intValue ?? 0
        c.note(
            "read \(drained.textFrames) messages, \(drained.bytes) bytes, the event's last seq \(lastSeq), then "
                + (drained.closeCode.map { "close \($0) \(drained.closeReason ?? "")" }
                    ?? (drained.endOfStream ? "the end of the stream" : "10 s of silence")))
        switch SlowConsumerVerdict.judge(drained, lastSeq: lastSeq, bufferBoundBytes: bound.bytes) {
        case .closed: return
        case .failed(let why): throw CaseFailure(why)
        case .inconclusive(let why): throw CaseInconclusive(why)
        }
    }
}

extension Sequence {
    /// The results of `transform` on each element, one after the other.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
