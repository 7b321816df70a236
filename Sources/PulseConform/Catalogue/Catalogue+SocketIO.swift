import Foundation
import PulseWire

/// The wire protocol a target speaks for live updates.
public enum Profile: String, Sendable, CaseIterable {
    /// The Pulse Booking Protocol: REST plus the plain-WebSocket live protocol (PB-LIVE).
    case pulse
    /// A seed-style server: the seed's REST routes plus Socket.IO 4 with the seed's event names
    /// and payloads; the live clauses are checked over Socket.IO.
    case socketio
}

extension Catalogue {
    /// The Pulse profile's cases that apply to a seed-style server as they are (they read no
    /// document ids and no Pulse-only fields); the rest of its grade comes from the seed-shaped
    /// REST cases, the Socket.IO cases and the seed races.
    static let sharedWithSeed: Set<String> = ["rest.success-envelope", "errors.envelope", "errors.route-not-found", "auth.token-payload"]

    /// The cases of `profile` whose clause (or id) starts with `prefix`.
    public static func cases(profile: Profile, clausePrefix prefix: String? = nil) -> [ConformanceCase] {
        let chosen =
            switch profile {
            case .pulse: all
            case .socketio:
                all.filter { sharedWithSeed.contains($0.id) } + seedREST.map { $0.checking(.statusOnly) }
                    + (socketIO + seedRaces).map { $0.checking(.behaviour) }
            }
        guard let prefix, !prefix.isEmpty else { return chosen }
        return chosen.filter { $0.clause.hasPrefix(prefix) || $0.id.hasPrefix(prefix) }
    }

    /// The live clauses over Socket.IO, with seats addressed by the ids the seat map gives.
    static let socketIO: [ConformanceCase] = [
        ConformanceCase("socketio.connect", "PB-LIVE-1", "a Socket.IO client connects with auth.token = Bearer <jwt>", needs: []) { c in
            let socket = c.socket(try await c.user().token)
            try await socket.waitConnected()
        },
        ConformanceCase("socketio.connect-refused", "PB-LIVE-1", "a bad token is refused with a connect error", needs: []) { c in
            let socket = c.socket("not-a-token")
            do {
                try await socket.waitConnected()
                throw CaseFailure("a connection with a bad token was accepted")
            } catch is APIError {
                c.note("refused: \(socket.connectError ?? "connection closed")")
            }
        },
        ConformanceCase("socketio.lock-broadcast", "PB-LIVE-4", "request_lock broadcasts seat_locked {seatId, lockedBy} to the event's room") { c in
            let event = try await c.event()
            let seat = try await c.seat(event, "A1")
            let (owner, watcher) = (try await c.user(0), try await c.user(1))
            let watching = try await c.joinedSocket(event, token: watcher.token)
            let locking = try await c.joinedSocket(event, token: owner.token)
            locking.emit("request_lock", ["eventId": event, "seatId": seat])
            let locked = try await watching.next("seat_locked A1") { $0.name == "seat_locked" && $0.object["seatId"] as? String == seat }
            try c.check(locked.object["lockedBy"] as? String == owner.id, "lockedBy is \(locked.object["lockedBy"] ?? "absent")")
        },
        ConformanceCase("socketio.lock-failed", "PB-LIVE-9", "request_lock of a held seat answers lock_failed {seatId, ...} to the caller") { c in
            let event = try await c.event()
            let (owner, rival) = (try await c.user(0), try await c.user(1))
            let first = try await c.joinedSocket(event, token: owner.token)
            let second = try await c.joinedSocket(event, token: rival.token)
            // The owner's lock lives at least its TTL from the moment it was asked for: a rival
            // granted the seat later than that may have met its expiry (a loaded run, a short TTL),
            // and the try is made again on another seat.
            let ttl = c.session.lockTTLSeconds.map { Duration.milliseconds(Int($0 * 1000)) }
            for label in ["A1", "A2", "A3"] {
                let seat = try await c.seat(event, label)
                let asked = ContinuousClock.now
                try c.check(try await c.lock(first, event, seat, as: owner), "the lock of a free seat failed")
                guard try await c.lock(second, event, seat, as: rival) else { return }
                guard let ttl, ContinuousClock.now >= asked + ttl else {
                    throw CaseFailure("a second user was granted a held seat (within the owner's lock TTL)")
                }
                c.note("\(label): the rival's lock was answered after the owner's lock TTL; tried again")
            }
            throw CaseInconclusive("in three tries the rival's lock was answered only after the owner's lock could have expired")
        },
        ConformanceCase("socketio.release-reason", "PB-LIVE-6", "release_lock by the owner broadcasts seat_released with reason released") { c in
            let event = try await c.event()
            let seat = try await c.seat(event, "A1")
            let user = try await c.user(0)
            let socket = try await c.joinedSocket(event, token: user.token)
            try c.check(try await c.lock(socket, event, seat, as: user), "the lock of a free seat failed")
            socket.emit("release_lock", ["eventId": event, "seatId": seat])
            let released = try await socket.next("seat_released A1") { $0.name == "seat_released" }
            try c.check(released.object["reason"] as? String == "released", "seat_released carries no reason: \(released.object)")
        },
        ConformanceCase("socketio.seq", "PB-LIVE-5", "every change carries the event's next seq (seed race 6)") { c in
            let event = try await c.event()
            let seats = [try await c.seat(event, "A1"), try await c.seat(event, "A2")]
            let socket = try await c.joinedSocket(event, token: try await c.user(0).token)
            for seat in seats { socket.emit("request_lock", ["eventId": event, "seatId": seat]) }
            for seat in seats {
                _ = try await socket.next("seat_locked of each seat") { $0.name == "seat_locked" && $0.object["seatId"] as? String == seat }
            }
            // Each carries a seq and the two follow each other. In which order they arrived is
            // PB-LIVE-7's matter (socketio.race-release-order), not this clause's.
            let seqs = socket.events.filter { $0.name == "seat_locked" }.map { ($0.object["seq"] as? NSNumber)?.int64Value }
            let numbered = seqs.compactMap { $0 }.sorted()
            try c.check(numbered.count == 2 && seqs.count == 2 && numbered[1] == numbered[0] + 1, "seat_locked seqs (as they arrived): \(seqs)")
        },
        ConformanceCase("socketio.no-empty-release", "PB-LIVE-5", "release_lock of a seat the caller does not hold broadcasts nothing") { c in
            let event = try await c.event()
            // With a short lock TTL a slow run may meet the lock's own expiry (a release that is
            // right): a release seen after the TTL cannot be judged, and the round is run again.
            let ttl = c.session.lockTTLSeconds.map { Duration.milliseconds(Int($0 * 1000)) }
            for (first, second) in [("A1", "A2"), ("A3", "A4"), ("A5", "A6")] {
                let (firstSeat, secondSeat) = (try await c.seat(event, first), try await c.seat(event, second))
                let user = try await c.user(0)
                let owner = try await c.joinedSocket(event, token: user.token)
                let stranger = try await c.joinedSocket(event, token: try await c.user(1).token)
                let locked = ContinuousClock.now
                try c.check(try await c.lock(owner, event, firstSeat, as: user), "the lock of a free seat failed")
                let mark = owner.events.count
                stranger.emit("release_lock", ["eventId": event, "seatId": firstSeat])
                try await Task.sleep(for: .milliseconds(300))
                owner.emit("request_lock", ["eventId": event, "seatId": secondSeat])
                // Only this round's two seats count: an earlier round's lock expires into this one.
                let next = try await owner.next(after: mark, "the next change of \(first) or \(second)") {
                    $0.name == "seat_locked" && $0.object["seatId"] as? String == secondSeat
                        || $0.name == "seat_released" && $0.object["seatId"] as? String == firstSeat
                }
                if next.name == "seat_locked" { return }
                guard let ttl, ContinuousClock.now - locked >= ttl else { throw CaseFailure("a release that released nothing was broadcast") }
                c.note("\(first) was released after its lock TTL: maybe its expiry; trying again")
            }
            throw CaseInconclusive("every round outlasted the lock TTL: a release could not be told from an expiry")
        },
        ConformanceCase("socketio.disconnect-releases", "PB-LIVE-11", "a socket's locks are released when it disconnects") { c in
            let event = try await c.event()
            let seat = try await c.seat(event, "B2")
            let watcher = try await c.joinedSocket(event, token: try await c.user(1).token)
            let user = try await c.user(0)
            let locker = try await c.joinedSocket(event, token: user.token)
            try c.check(try await c.lock(locker, event, seat, as: user), "the lock of a free seat failed")
            locker.close()
            _ = try await watcher.next("seat_released B2") { $0.name == "seat_released" && $0.object["seatId"] as? String == seat }
        },
        // Both need the lock alive for the next step: on a loaded machine a short lock TTL can run
        // out first, and a round that took longer than the TTL proves nothing (it runs again).
        ConformanceCase("socketio.booked", "PB-LIVE-4", "a checkout broadcasts seats_booked {seatIds} to the room") { c in
            try await c.inRounds(1, atMost: 3) { _ in
                let locked = try await c.lockedSeat("A3")
                let (event, seat, owner) = (locked.event, locked.seat, locked.owner)
                let checkout = try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": [seat], "totalAmount": 25])
                if checkout.status != 201, ContinuousClock.now - locked.sent >= c.session.lockTTL {
                    return .undecided("the checkout was refused \(checkout.status) once the lock's TTL could have run out")
                }
                try c.expect(checkout, 201)
                let booked = try await locked.socket.next("seats_booked") { $0.name == "seats_booked" }
                try c.check(booked.object["seatIds"] as? [String] == [seat], "seats_booked is \(booked.object)")
                return .clean("the room heard seats_booked of the booked seat")
            }
        },
        ConformanceCase("socketio.seat-map", "PB-SEAT-1", "a locked seat shows locked with lockedBy in the seat map") { c in
            try await c.inRounds(1, atMost: 3) { _ in
                let locked = try await c.lockedSeat("A4")
                let shown =
                    try await c.call(.GET, "/api/v1/events/\(locked.event)/seats").objects("seats").first { c.documentID($0) == locked.seat } ?? [:]
                let shows = shown.string("status") == "locked" && shown.string("lockedBy") == locked.owner.id
                if !shows, ContinuousClock.now - locked.sent >= c.session.lockTTL {
                    return .undecided("the seat map was read once the lock's TTL could have run out: A4 is \(shown)")
                }
                try c.check(shows, "A4 is \(shown)")
                return .clean("the locked seat showed locked by its holder")
            }
        },
        ConformanceCase("socketio.hold-cap", "PB-HOLD-5", "a user cannot lock more than 10 seats of an event (seed race 9: hoarding)") { c in
            // Eleven locks must all be answered within the lock TTL of the first request, or the
            // first may have lapsed (a right to lock again) before the eleventh: such a round is
            // run again. The eleven are asked at once, so a round costs one round trip, not eleven
            // (a slow machine took longer than a 1 s TTL for eleven in turn). A cap that a burst
            // gets past is a broken cap too.
            let ttl = c.session.lockTTL
            let user = try await c.user(0)
            try await c.inRounds(1, atMost: 3) { _ in
                let event = try await c.event(rows: 1, cols: 12)
                let seats = try await (1...11).asyncMap { try await c.seat(event, "A\($0)") }
                let socket = try await c.joinedSocket(event, token: user.token)
                let started = ContinuousClock.now
                let granted = try await c.lockAll(socket, event, seats, as: user).filter { $0 }.count
                guard ContinuousClock.now - started < ttl else {
                    return .undecided(
                        "eleven locks took longer than the lock TTL (\(granted) granted): a lapsed lock cannot be told from a broken cap")
                }
                try c.check(granted <= 10, "one user holds \(granted) seats of one event")
                return .clean("\(granted) of eleven locks granted within the lock TTL")
            }
        },
        ConformanceCase(
            "socketio.malformed-payload", "PB-ERR-3", "malformed payloads neither crash the server nor end other connections (seed race 7)"
        ) { c in
            let event = try await c.event()
            let seat = try await c.seat(event, "B5")
            let user = try await c.user(1)
            let bystander = try await c.joinedSocket(event, token: user.token)
            let sender = try await c.joinedSocket(event, token: try await c.user(0).token)
            sender.emit("request_lock", "not an object")
            sender.emit("request_lock", ["eventId": 42])
            sender.emit("release_lock", ["seatId": ["x"]])
            try await Task.sleep(for: .milliseconds(300))
            try c.check(!bystander.closed, "another client's connection ended after the malformed payloads")
            try c.check(try await c.lock(bystander, event, seat, as: user), "a lock after the malformed payloads failed")
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)"), 200, nil, "the server after the malformed payloads")
        }.last(),
    ]
}

extension CaseContext {
    /// `request_lock` of `seat` on `socket`: true when the room announces `seat_locked` for
    /// `user`, false on `lock_failed`; throws when neither comes within `seconds`.
    func lock(_ socket: SocketIOConnection, _ event: String, _ seat: String, as user: TestUser, seconds: Double = 20) async throws -> Bool {
        try await lockAll(socket, event, [seat], as: user, seconds: seconds)[0]
    }

    /// `request_lock` of every seat of `seats` on `socket` at once, then each one's answer (true
    /// on the room's `seat_locked` for `user`, false on `lock_failed`), in the order of `seats`;
    /// throws when one does not come within `seconds`.
    func lockAll(_ socket: SocketIOConnection, _ event: String, _ seats: [String], as user: TestUser, seconds: Double = 20) async throws
        -> [Bool]
    {
        let mark = socket.events.count
        for seat in seats { socket.emit("request_lock", ["eventId": event, "seatId": seat]) }
        var granted: [Bool] = []
        for seat in seats {
            let answer = try await socket.next(after: mark, seconds: seconds, "the answer to request_lock of \(seat)") {
                $0.object["seatId"] as? String == seat
                    && ($0.name == "lock_failed" || $0.name == "seat_locked" && $0.object["lockedBy"] as? String == user.id)
            }
            granted.append(answer.name == "seat_locked")
        }
        return granted
    }

    /// A new event's seat `label` locked by user 0 over a socket joined to the event, and when
    /// the lock was asked for (its TTL cannot end sooner after).
    func lockedSeat(_ label: String) async throws
        -> (event: String, seat: String, owner: TestUser, socket: SocketIOConnection, sent: ContinuousClock.Instant)
    {
        let event = try await self.event()
        let seat = try await self.seat(event, label)
        let owner = try await user(0)
        let socket = try await joinedSocket(event, token: owner.token)
        let sent = ContinuousClock.now
        try check(try await lock(socket, event, seat, as: owner), "the lock of a free seat failed")
        return (event, seat, owner, socket, sent)
    }
}
