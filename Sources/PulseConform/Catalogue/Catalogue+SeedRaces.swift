import Foundation
import PulseWire

/// The seed's races over the wire (SEED-BEHAVIOUR.md, races 1 to 5), provoked by timing alone:
/// no test hooks, only the target's own lock TTL (which must be short: `--target-hold-ttl`),
/// concurrent clients and retries. Races 1 to 4 need an interleaving inside the server, so each
/// case tries eight seats at once around the instant that matters, in up to three rounds, and
/// stops at the first round that shows the race (a correct server costs all three rounds); race 5
/// follows from the TTL alone and shows every time. How often one run shows each race against the
/// seed stand-in is measured in README ("Seed-style servers"). (Race 6 is `socketio.seq`,
/// race 7 `socketio.malformed-payload` and `seed.bad-input`, race 8 `seed.concurrent-checkout`,
/// race 9 `seed.email-unique-race`, `seed.event-grid-atomic` and `socketio.hold-cap`.)
extension Catalogue {
    static let seedRaces: [ConformanceCase] = [
        ConformanceCase("socketio.race-repeated-release", "PB-HOLD-10",
                        "a user's repeated release_lock (two tabs, a double click) never removes the lock another user took in between (seed race 1)") { c in
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 8)
                _ = try await race.ownerLocksAll()
                let start = ContinuousClock.now + .milliseconds(50)
                // Seat by seat, 30 ms apart: the owner sends six release_lock within about two
                // milliseconds, while the rival keeps asking for the seat from just before. A release
                // that reads its owner and deletes in two steps lets a later one of the four delete
                // the lock the rival got from an earlier one.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, seat) in race.seats.enumerated() {
                        let at = start + .milliseconds(30 * index)
                        group.addTask {
                            try await Task.sleep(until: at)
                            for _ in 0..<6 {
                                race.ownerSocket.emit("release_lock", ["eventId": race.event, "seatId": seat])
                                try await Task.sleep(for: .microseconds(300))
                            }
                        }
                        group.addTask {
                            try await race.rivalAsks(for: seat, from: at - .milliseconds(8), until: at + .milliseconds(500), denseUntil: at + .milliseconds(12))
                        }
                    }
                    try await group.waitForAll()
                }
                try await Task.sleep(for: .milliseconds(200))
                let won = race.seatsWonByRival()
                guard !won.isEmpty else { return "another user could not lock a seat its owner released" }
                // Nobody may release the rival's lock but the rival (who never does) or its expiry:
                // the room must not hear it released, the rival must not be granted the seat it holds
                // a second time (its asking again at once can hide a theft from the map, and a late
                // seat_locked from the room's order), and a third user must not get it.
                let announced = won.filter { race.releasedAfterRivalLocked($0) }
                let regranted = won.filter { race.rivalGrants($0) > 1 }
                let taken = try await race.seatsAThirdUserCanLock(won.filter { !announced.contains($0) && !regranted.contains($0) })
                c.note("the rival won \(won.count) of \(race.seats.count) released seats")
                guard announced.isEmpty, regranted.isEmpty, taken.isEmpty else {
                    return "the owner's repeated release_lock (GET, then DEL) removed the rival's fresh locks: \(announced.count) announced released at once, "
                        + "\(regranted.count) granted to the rival a second time, \(taken.count) then locked by a third user"
                }
                return nil
            }
        },
        ConformanceCase("socketio.race-checkout-at-expiry", "PB-CHECKOUT-3",
                        "a checkout racing its lock's expiry never books a seat another user holds (seed race 2)") { c in
            let ttl = try c.shortLockTTL()
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 8)
                let lockedAt = try await race.ownerLocksAll()
                let booked = try await withThrowingTaskGroup(of: String?.self) { group in
                    for (index, seat) in race.seats.enumerated() {
                        let expiry = lockedAt[index] + .milliseconds(Int(ttl * 1000))
                        // Checkouts sent from 16 ms before the expiry to 12 ms after it, one seat each.
                        group.addTask {
                            try await Task.sleep(until: expiry + .milliseconds(4 * index - 16))
                            let reply = try await c.call(.POST, "/api/v1/events/\(race.event)/seats", token: race.owner.token,
                                                         json: ["seatIds": [seat], "totalAmount": race.price])
                            return reply.status == 201 ? seat : nil
                        }
                        group.addTask { try await race.rivalAsks(for: seat, from: expiry - .milliseconds(12), until: expiry + .seconds(1)); return nil }
                    }
                    return try await group.reduce(into: Set<String>()) { if let seat = $1 { $0.insert(seat) } }
                }
                try await Task.sleep(for: .milliseconds(300))
                let overBooked = race.seatsLockedByRivalBeforeBooked(booked)
                c.note("\(booked.count) of \(race.seats.count) checkouts booked; the rival won \(race.seatsWonByRival().count) seats")
                return overBooked.isEmpty ? nil : "\(overBooked.count) seats were booked by their first holder after the room was told another user "
                    + "had locked them: the checkout's lock check and its commit are not one step (no fencing)"
            }
        },
        ConformanceCase("socketio.race-lock-while-booking", "PB-SEAT-2",
                        "a lock racing a checkout never lands on the sold seat, and the map shows it booked (seed race 3)") { c in
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 8)
                _ = try await race.ownerLocksAll()
                let start = ContinuousClock.now
                let booked = try await withThrowingTaskGroup(of: String?.self) { group in
                    for (index, seat) in race.seats.enumerated() {
                        group.addTask {
                            try await Task.sleep(until: start + .milliseconds(40 + 5 * index))
                            let reply = try await c.call(.POST, "/api/v1/events/\(race.event)/seats", token: race.owner.token,
                                                         json: ["seatIds": [seat], "totalAmount": race.price])
                            return reply.status == 201 ? seat : nil
                        }
                        group.addTask { try await race.rivalAsks(for: seat, from: start, until: start + .milliseconds(400)); return nil }
                    }
                    return try await group.reduce(into: Set<String>()) { if let seat = $1 { $0.insert(seat) } }
                }
                guard !booked.isEmpty else { return "no checkout of a locked seat booked" }
                try await Task.sleep(for: .milliseconds(300))
                // The owner held each seat from before the rival's first request until its sale, so
                // any lock of a sold seat by the rival landed on a sold seat.
                let lockedAfterSale = race.seatsWonByRival().filter(booked.contains)
                let map = try await c.call(.GET, "/api/v1/events/\(race.event)/seats").objects("seats")
                let shownUnsold = map.filter { seat in booked.contains(c.documentID(seat) ?? "") && seat.string("status") != "booked" }
                guard !lockedAfterSale.isEmpty || !shownUnsold.isEmpty else { return nil }
                return "after the sale of \(booked.count) seats, \(lockedAfterSale.count) were locked by another user and \(shownUnsold.count) show "
                    + "\(shownUnsold.compactMap { $0.string("status") }) in the seat map"
            }
        },
        ConformanceCase("socketio.race-release-lie", "PB-LIVE-5",
                        "no seat_released is broadcast for a lock that was not released: an expiry timer racing the next lock (seed race 4)") { c in
            let ttl = try c.shortLockTTL()
            try await c.inRounds(SeedRace.rounds) { _ in
            let race = try await SeedRace(c, seats: 8)
            let lockedAt = try await race.ownerLocksAll()
            // The rival takes each seat as soon as its lock lapses; a server whose own expiry step
            // comes a moment later must not announce the rival's fresh lock as released.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, seat) in race.seats.enumerated() {
                    let expiry = lockedAt[index] + .milliseconds(Int(ttl * 1000))
                    group.addTask { try await race.rivalAsks(for: seat, from: expiry - .milliseconds(12), until: expiry + .seconds(1)) }
                }
                try await group.waitForAll()
            }
            try await Task.sleep(for: .milliseconds(300))
            let map = try await c.call(.GET, "/api/v1/events/\(race.event)/seats").objects("seats")
            let stillRivals = Set(map.filter { $0.string("lockedBy") == race.rival.id }.compactMap { c.documentID($0) })
            let lies = race.seatsWonByRival().filter { seat in stillRivals.contains(seat) && race.releasedAfterRivalLocked(seat, afterLast: true) }
            c.note("the rival won \(race.seatsWonByRival().count) of \(race.seats.count) seats; \(stillRivals.count) are still its own in the seat map")
            return lies.isEmpty ? nil : "\(lies.count) seats were announced released after the rival locked them, while the seat map still shows them the rival's"
            }
        },
        ConformanceCase("socketio.race-stale-timer", "PB-HOLD-6",
                        "a lock released and taken again lives its whole new TTL: no stale timer of the first ends it early (seed race 5)") { c in
            let ttl = try c.shortLockTTL()
            let lifetime = Duration.milliseconds(Int(ttl * 1000))
            // A round whose steps a loaded machine delayed past the lock TTLs shows nothing either
            // way (the release would come after the first lock expired, or the check after the
            // second did): it runs again, three times at most.
            for round in 1...3 {
                let race = try await SeedRace(c, seats: 1)
                let seat = race.seats[0]
                let lockedAt = try await race.ownerLocksAll()[0]
                // Released at half its TTL and taken again: the second lock lives to about 1.5 TTL, the
                // first lock's timer fires at 1 TTL; the check at 1.25 TTL sits midway between.
                try await Task.sleep(until: lockedAt + lifetime / 2)
                let mark = race.rivalSocket.events.count
                guard ContinuousClock.now < lockedAt + lifetime * 0.8 else {
                    c.note("round \(round): the release would go out after the first lock's TTL")
                    continue
                }
                race.ownerSocket.emit("release_lock", ["eventId": race.event, "seatId": seat])
                let released = try? await race.rivalSocket.next(after: mark, "seat_released after the owner's release") {
                    $0.name == "seat_released" && $0.object["seatId"] as? String == seat
                }
                if released == nil {
                    let expiredFirst = race.rivalSocket.events.prefix(mark).contains { $0.name == "seat_released" && $0.object["seatId"] as? String == seat }
                    try c.check(expiredFirst, "the owner's release of its live lock was not announced (seat_released) within 5 s")
                    c.note("round \(round): the first lock expired before the release reached the server")
                    continue
                }
                // The owner takes the seat again (another tab, a second thought): a new lock with a new TTL.
                try c.check(try await c.lock(race.ownerSocket, race.event, seat, as: race.owner), "the owner could not lock the seat it had just released")
                let relockedAt = ContinuousClock.now
                // The first lock's TTL has run out; the second has a good while to live.
                try await Task.sleep(until: lockedAt + lifetime * 1.25)
                let stolen = try await race.seatsAThirdUserCanLock([seat])
                guard ContinuousClock.now < relockedAt + lifetime else {
                    c.note("round \(round): the check came after the second lock's own TTL")
                    continue
                }
                try c.check(stolen.isEmpty, "the owner's second lock ended when its first would have, before its own TTL: another user then locked the seat")
                return
            }
            c.note("three rounds ran too late to show the race either way")
        },
    ]
}

extension CaseContext {
    /// Runs `round` up to `count` times, until one returns what it saw wrong; then the case fails
    /// with it, naming the round. Each round starts afresh (a new event and sockets).
    func inRounds(_ count: Int, _ round: (Int) async throws -> String?) async throws {
        for index in 1...count {
            if let wrong = try await round(index) { throw CaseFailure("round \(index) of \(count): \(wrong)") }
        }
        note("\(count) rounds, none showed the race")
    }

    /// The target's lock TTL for the races that need an expiry (`--target-hold-ttl`), or
    /// ``CaseUnimplemented`` when it is unknown or too long to wait for.
    func shortLockTTL() throws -> Double {
        guard let ttl = session.lockTTLSeconds, (0.5...5).contains(ttl) else {
            throw CaseUnimplemented("needs a target whose lock TTL is 0.5...5 s, given with --target-hold-ttl (it is \(session.lockTTLSeconds.map { "\($0) s" } ?? "unknown"))")
        }
        return ttl
    }
}

/// The cast of a seed race: an event, its owner (who locks every seat first), a rival who wants
/// the same seats, and a third user who checks whether a lock still exists by asking for it.
struct SeedRace: Sendable {
    let context: CaseContext
    let event: String
    let seats: [String]
    let owner: TestUser
    let rival: TestUser
    let ownerSocket: SocketIOConnection
    let rivalSocket: SocketIOConnection
    let price = 25
    /// Rounds a timing race is tried before a target is taken to be free of it.
    static let rounds = 3

    init(_ context: CaseContext, seats count: Int) async throws {
        self.context = context
        event = try await context.event(rows: 1, cols: count, price: Double(price))
        var seats: [String] = []
        for column in 1...count { seats.append(try await context.seat(event, "A\(column)")) }
        self.seats = seats
        (owner, rival) = (try await context.user(0), try await context.user(1))
        ownerSocket = try await context.joinedSocket(event, token: owner.token)
        rivalSocket = try await context.joinedSocket(event, token: rival.token)
    }

    /// The owner locks every seat, one after another; returns when each lock's `seat_locked`
    /// arrived (the arrival itself, not when a poll saw it: the expiry instants are estimated
    /// from these, and a poll's 10 ms would blur them).
    func ownerLocksAll() async throws -> [ContinuousClock.Instant] {
        var times: [ContinuousClock.Instant] = []
        for seat in seats {
            try context.check(try await context.lock(ownerSocket, event, seat, as: owner), "the first lock of a free seat failed")
            let arrival = ownerSocket.events.last { $0.name == "seat_locked" && $0.object["seatId"] as? String == seat }?.receivedAtNs ?? WireRecorder.nowNs()
            times.append(.now - .nanoseconds(WireRecorder.nowNs() - arrival))
        }
        return times
    }

    /// The rival asks for `seat` every 3 ms (every 0.5 ms before `denseUntil`) from `start` until
    /// the room says it got it, or `end` (asking more often floods a small server and blurs the
    /// instants that matter).
    func rivalAsks(for seat: String, from start: ContinuousClock.Instant, until end: ContinuousClock.Instant,
                   denseUntil: ContinuousClock.Instant? = nil) async throws {
        try await Task.sleep(until: start)
        while ContinuousClock.now < end, !rivalHolds(seat) {
            rivalSocket.emit("request_lock", ["eventId": event, "seatId": seat])
            try await Task.sleep(for: .microseconds(denseUntil.map { ContinuousClock.now < $0 } == true ? 500 : 3_000))
        }
    }

    /// Whether `event` is the room's `seat_locked` of `seat` by the rival.
    private func isRivalLock(_ event: SocketIOConnection.Event, _ seat: String) -> Bool {
        event.name == "seat_locked" && event.object["seatId"] as? String == seat && event.object["lockedBy"] as? String == rival.id
    }

    private func rivalHolds(_ seat: String) -> Bool { rivalSocket.events.contains { isRivalLock($0, seat) } }

    /// The seats the room heard locked by the rival.
    func seatsWonByRival() -> [String] { seats.filter(rivalHolds) }

    /// Of `candidates`, the seats a third user can lock now (each should be the rival's, so none).
    func seatsAThirdUserCanLock(_ candidates: [String]) async throws -> [String] {
        let third = try await context.user(2)
        let socket = try await context.joinedSocket(event, token: third.token)
        var taken: [String] = []
        for seat in candidates where try await context.lock(socket, event, seat, as: third) { taken.append(seat) }
        return taken
    }

    /// How many times the room heard `seat` locked by the rival (more than once without a release
    /// of its own: its lock vanished in between).
    func rivalGrants(_ seat: String) -> Int { rivalSocket.events.filter { isRivalLock($0, seat) }.count }

    /// Whether the room heard `seat_released` for `seat` after the rival's first (or, with
    /// `afterLast`, its last) `seat_locked` of it.
    func releasedAfterRivalLocked(_ seat: String, afterLast: Bool = false) -> Bool {
        let events = rivalSocket.events
        guard let locked = afterLast ? events.lastIndex(where: { isRivalLock($0, seat) }) : events.firstIndex(where: { isRivalLock($0, seat) }) else { return false }
        return events[(locked + 1)...].contains { $0.name == "seat_released" && $0.object["seatId"] as? String == seat }
    }

    /// Of `booked`, the seats the room heard locked by the rival before it heard them booked.
    func seatsLockedByRivalBeforeBooked(_ booked: Set<String>) -> [String] {
        let events = rivalSocket.events
        return booked.sorted().filter { seat in
            guard let sold = events.firstIndex(where: { $0.name == "seats_booked" && ($0.object["seatIds"] as? [String] ?? []).contains(seat) }) else { return false }
            return events[..<sold].contains { isRivalLock($0, seat) }
        }
    }
}
