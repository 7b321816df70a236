import Foundation
import PulseProtocol
import PulseWire
import Synchronization

/// The seed's races over the wire (docs/seed.md, races 1 to 5), provoked by timing alone:
/// no test hooks, only the target's own lock TTL (which must be short: `--target-hold-ttl`),
/// concurrent clients and retries. Races 1 to 4 need an interleaving inside the server, so each
/// case tries eight seats at once around the instant that matters, in rounds, and stops at the
/// first round that shows the race (a correct server costs every round); race 5 follows from the
/// TTL alone and shows every time. How often one run shows each race against the seed stand-in is
/// measured in README ("Seed-style servers"). (Race 6 is `socketio.seq`, race 7
/// `socketio.malformed-payload` and `seed.bad-input`, race 8 `seed.concurrent-checkout`, race 9
/// `seed.email-unique-race`, `seed.event-grid-atomic` and `socketio.hold-cap`.)
///
/// Each case fails only on evidence of its own clause. A race can show more than one defect: the
/// room told a release after a lock can be a release that removed the lock (PB-HOLD-10), a release
/// announced for nothing (PB-LIVE-5) or a true release delivered late (PB-LIVE-7); the cases tell
/// them apart from the state the target reports (seat map, a third user's lock), from `seq` when
/// the target numbers its messages and otherwise from how many changes the room was told. Every
/// margin follows the pace the case measured (the round trip of a lock), every proof of a lock's
/// removal comes before that lock's own TTL could have ended it, and a round that shows nothing
/// either way is run again; when no round decides, the case is INCONCLUSIVE.
extension Catalogue {
    static let seedRaces: [ConformanceCase] = [
        ConformanceCase(
            "socketio.race-repeated-release", "PB-HOLD-10",
            "a user's repeated release_lock (two tabs, a double click) never removes the lock another user took in between (seed race 1)"
        ) { c in
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 8)
                let round = try await race.repeatedRelease(probe: true)
                guard !round.won.isEmpty else { return try await race.nothingWon(round) }
                // The rival never releases, and only its TTL may end its lock: a second grant to the
                // rival, or a grant to a third user, before that TTL could have run out proves its lock
                // was removed (what the room was told proves nothing: see socketio.race-release-order).
                var regranted: [String] = []
                var taken: [String] = []
                var late: [String] = []
                var intact: [String] = []
                for seat in round.won {
                    let deadline = round.firstAsk[seat]! + race.lockTTL
                    let grants = race.rivalLocks(seat)
                    if grants.count > 1, race.instant(grants[1].receivedAtNs) < deadline {
                        regranted.append(seat)
                    } else if let probe = round.probes[seat], probe.granted {
                        if race.instant(probe.atNs) < deadline { taken.append(seat) } else { late.append(seat) }
                    } else if round.probes[seat] != nil {
                        intact.append(seat)
                    } else {
                        late.append(seat)
                    }
                }
                c.note("the rival won \(round.won.count) of \(race.seats.count) released seats (lock round trip \(race.paceMs) ms)")
                if !regranted.isEmpty || !taken.isEmpty {
                    return .broken(
                        "the owner's repeated release_lock removed the lock the rival took in between: \(regranted.count) seats were granted "
                            + "to the rival a second time and \(taken.count) were then locked by a third user, each before the rival's lock TTL "
                            + "could have ended its lock (a release that reads its owner, then deletes, in two steps)")
                }
                guard !intact.isEmpty else {
                    return .undecided("a third user got \(late.count) seats only after the rival's lock TTL could have ended its lock")
                }
                return .clean("the rival kept all \(intact.count) seats a third user asked for in time")
            }
        },
        ConformanceCase(
            "socketio.race-release-order", "PB-LIVE-7",
            "a release and the lock that follows it at once reach the room in the order they happened: it never shows the new holder's seat free"
        ) { c in
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 8)
                let round = try await race.repeatedRelease(probe: false)
                guard !round.won.isEmpty else { return try await race.nothingWon(round) }
                let wrong = try await race.misinformed(round.won, ownerLockSent: round.ownerLockSent)
                c.note(
                    "the rival won \(round.won.count) of \(race.seats.count) released seats; the room was last told \(wrong.count) of them free "
                        + "while the seat map showed them the rival's")
                let late = wrong.filter { $0.value.lateDelivery }
                if !late.isEmpty {
                    return .broken(
                        "\(late.count) seats the rival held were last announced released: \(late.values.first!.evidence). "
                            + "The release came first and the rival's lock after it, but the room heard them the other way round, "
                            + "so every client shows a held seat free")
                }
                for view in wrong.values { c.note("not a late delivery: \(view.evidence)") }
                guard wrong.isEmpty else {
                    return .undecided(
                        "the room was told a release that may not be the owner's: more releases than there were changes (a release of "
                            + "nothing: PB-LIVE-5, socketio.no-empty-release), or, without seq, a release heard after the owner's lock could "
                            + "have lapsed (its expiry's announcement); either hides whether it delivers in order")
                }
                return .clean("the room heard every seat's release before the rival's lock")
            }
        },
        ConformanceCase(
            "socketio.race-checkout-at-expiry", "PB-CHECKOUT-3",
            "a checkout racing its lock's expiry never books a seat another user holds (seed race 2)"
        ) { c in
            let ttl = try c.shortLockTTL()
            // Where the checkouts go. The lock lapses about when the room heard it plus the TTL, less
            // the time the server's broadcast took, and a checkout reaches its lock check about a
            // lock's round trip after it is sent; but the delays of a loaded machine, the suite's own
            // included, are only known from what they did. The first round spreads the ten checkouts
            // wide (a pace apart: 4 ms, or a quarter of the lock's round trip on a slower target);
            // the instant between the last checkout that booked and the next, refused (its lock check
            // came after the expiry), is the expiry as the checkouts meet it, and the next round packs
            // them around it (seven before, three after), half as far apart: a checkout shows the race when its lock
            // check comes just before the expiry and its commit after the rival's lock (and after
            // the rival's own check that the seat is not sold, on a server that makes one). A round
            // whose checkouts all booked (or none did) moves the next one later (or earlier).
            var boundary: Duration? = nil
            var wide = Duration.zero
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 10)  // the most a user may hold of one event (PB-HOLD-5)
                let races = [race]
                let locks = try await race.ownerLocksAll()
                let pace = race.pace
                let step = boundary == nil ? max(Duration.milliseconds(4), pace / 4) : max(Duration.milliseconds(2), pace / 8)
                // Offsets from each lock's estimated expiry less a round trip.
                let offsets = (0..<10).map { index in boundary.map { $0 + step * (index - 7) } ?? wide + step * (index - 4) }
                let outcomes = [try await race.checkoutsAtExpiry(locks, ttl: ttl, offsets: offsets)]
                try await Task.sleep(for: race.settle)
                if let last = race.seats.lastIndex(where: { outcomes[0][$0] != nil }) {
                    if last < 9 { boundary = (offsets[last] + offsets[last + 1]) / 2 } else { (wide, boundary) = (offsets[9] + step * 4, nil) }
                } else {
                    (wide, boundary) = (offsets[0] - step * 4, nil)
                }
                // A seat booked by its first holder though the rival was told it locked it before the
                // sale: the checkout's lock check and its commit are not one step. A lock taken after
                // the sale (PB-SEAT-2) whose broadcast overtook the sale's would look the same in the
                // room's order, so the rival's lock must come first by seq, or, without seq, also
                // reach the rival before the checkout's own 201 did (a lock after the sale is
                // announced after the sale was answered).
                var before = 0
                var proven = 0
                var booked = 0
                var won = 0
                for (race, answered) in zip(races, outcomes) {
                    let sold = race.seatsLockedByRivalBeforeBooked(Set(answered.keys))
                    before += sold.count
                    proven +=
                        sold.filter { seat in race.hasSeq(seat) || race.instant(race.rivalLocks(seat).first!.receivedAtNs) < answered[seat]! }.count
                    booked += answered.count
                    won += race.seatsWonByRival().count
                    for seat in race.seatsWonByRival() where answered[seat] != nil {
                        c.note(
                            "booked and locked by the rival: the room heard \(race.changes(seat).map(\.name).joined(separator: ", ")); the rival heard its lock "
                                + "\(Int(((race.instant(race.rivalLocks(seat).first!.receivedAtNs) - answered[seat]!).seconds * 1000).rounded())) ms from the checkout's 201"
                        )
                    }
                }
                c.note("\(booked) of 10 checkouts booked; the rival won \(won) seats (lock round trip \(Int((pace.seconds * 1000).rounded())) ms)")
                if proven > 0 {
                    return .broken(
                        "\(proven) seats were booked by their first holder after the room was told another user had locked them "
                            + "(and the rival heard its lock before the checkout's 201 came): the checkout's lock check and its commit are not one step "
                            + "(no fencing)")
                }
                if before > 0 {
                    return .undecided(
                        "\(before) seats: the rival's lock was heard before the sale but after its 201: a lock after the sale announced out of "
                            + "order cannot be told from an unfenced checkout here")
                }
                // The checkouts straddled the expiry only if some booked and the rival won others.
                guard booked > 0, won > 0 else {
                    return .undecided("the checkouts did not straddle the expiry: \(booked) booked, the rival won \(won)")
                }
                return .clean("no seat was both booked by its first holder and locked by the rival before the sale")
            }
        },
        ConformanceCase(
            "socketio.race-lock-while-booking", "PB-SEAT-2",
            "a lock racing a checkout never lands on the sold seat, and the map shows it booked (seed race 3)"
        ) { c in
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 8)
                let locks = try await race.ownerLocksAll()
                let start = ContinuousClock.now
                let window = max(Duration.milliseconds(400), race.pace * 20)
                let outcomes = try await withThrowingTaskGroup(of: (String, ContinuousClock.Instant, Bool).self) { group in
                    for (index, seat) in race.seats.enumerated() {
                        group.addTask {
                            try await Task.sleep(until: start + .milliseconds(40 + 5 * index))
                            let sent = ContinuousClock.now
                            let reply = try await c.call(
                                .POST, "/api/v1/events/\(race.event)/seats", token: race.owner.token,
                                json: ["seatIds": [seat], "totalAmount": race.price])
                            return (seat, sent, reply.status == 201)
                        }
                        group.addTask {
                            try await race.rivalAsks(for: seat, from: start, until: start + window)
                            return (seat, start, false)
                        }
                    }
                    return try await group.reduce(into: [String: ContinuousClock.Instant]()) { if $1.2 { $0[$1.0] = $1.1 } }
                }
                let booked = Set(outcomes.keys)
                guard !booked.isEmpty else { return .undecided("no checkout of a seat its buyer had locked booked (a checkout case's matter)") }
                try await Task.sleep(for: race.settle)
                // The owner's lock was live from its grant until its sale: a lock of the rival's that
                // came before that lock's TTL could have ended it came after the sale, on a sold seat.
                // One that came before the checkout was even sent is two live locks at once (PB-HOLD-4,
                // socketio.lock-failed's matter), and one after the TTL may have followed an expiry
                // (then a booking over it is race 2's, PB-CHECKOUT-3).
                var onSold: [String] = []
                var other: [String] = []
                for seat in race.seatsWonByRival().filter(booked.contains) {
                    let index = race.seats.firstIndex(of: seat)!
                    let at = race.instant(race.rivalLocks(seat).first!.receivedAtNs)
                    if at < outcomes[seat]! || at >= locks.sent[index] + race.lockTTL { other.append(seat) } else { onSold.append(seat) }
                }
                if !other.isEmpty {
                    c.note(
                        "\(other.count) seats locked by the rival before the checkout was sent or after the owner's lock TTL: not this clause's evidence"
                    )
                }
                let map = try await c.call(.GET, "/api/v1/events/\(race.event)/seats").objects("seats")
                let shownUnsold = map.filter { seat in booked.contains(c.documentID(seat) ?? "") && seat.string("status") != "booked" }
                guard onSold.isEmpty, shownUnsold.isEmpty else {
                    return .broken(
                        "after the sale of \(booked.count) seats, \(onSold.count) were locked by another user (while the buyer's lock could not "
                            + "yet have lapsed: after the sale) and \(shownUnsold.count) show \(shownUnsold.compactMap { $0.string("status") }) in the seat map"
                    )
                }
                return .clean("\(booked.count) seats sold; none locked after the sale, all shown booked")
            }
        },
        ConformanceCase(
            "socketio.race-release-lie", "PB-LIVE-5",
            "no seat_released is broadcast for a lock that was not released: an expiry timer racing the next lock (seed race 4)"
        ) { c in
            let ttl = try c.shortLockTTL()
            try await c.inRounds(SeedRace.rounds) { _ in
                let race = try await SeedRace(c, seats: 8)
                let locks = try await race.ownerLocksAll()
                // The rival takes each seat as soon as its lock lapses; a server whose own expiry step
                // comes a moment later must not announce the rival's fresh lock as released.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, seat) in race.seats.enumerated() {
                        let expiry = locks.arrived[index] + .milliseconds(Int(ttl * 1000))
                        group.addTask {
                            try await race.rivalAsks(
                                for: seat, from: expiry - max(.milliseconds(12), race.pace), until: expiry + max(.seconds(1), race.pace * 20))
                        }
                    }
                    try await group.waitForAll()
                }
                let won = race.seatsWonByRival()
                let wrong = try await race.misinformed(won)
                c.note(
                    "the rival won \(won.count) of \(race.seats.count) seats; the room was last told \(wrong.count) of them free while the seat map "
                        + "showed them the rival's")
                guard !wrong.isEmpty else {
                    return won.isEmpty ? .undecided("the rival won no seat at its expiry") : .clean("no seat the rival held was announced free")
                }
                // With seq, a release numbered after the rival's lock was announced for nothing. Without,
                // the expiry announced late (the lock lapsed, then the rival locked, and the two
                // broadcasts crossed, PB-LIVE-7) reads the same as the timer's lie: this case tells them
                // apart by whether the target delivers true releases late too (its own repeated-release
                // race, three times: the seed's explicit release is announced only when it removed the lock).
                let lies = wrong.filter { !$0.value.lateDelivery }
                if !lies.isEmpty {
                    return .broken(
                        "\(lies.count) seats were announced released after the rival locked them, while the seat map still shows them the rival's: "
                            + "\(lies.values.first!.evidence)")
                }
                if wrong.values.contains(where: { $0.bySeq }) {
                    return .undecided(
                        "the room heard \(wrong.count) expiries after the next lock, but their seqs put them before it: late delivery (PB-LIVE-7), not a lie"
                    )
                }
                for _ in 1...3 {
                    let control = try await SeedRace(c, seats: 8)
                    let round = try await control.repeatedRelease(probe: false)
                    if try await control.misinformed(round.won).values.contains(where: { $0.lateDelivery }) {
                        return .undecided(
                            "the room heard \(wrong.count) seats released after the rival's lock, but the target also delivers true releases after the "
                                + "lock that followed them (socketio.race-release-order); without seq a late expiry cannot be told from a lie")
                    }
                }
                return .broken(
                    "\(wrong.count) seats were announced released after the rival locked them, while the seat map still shows them the rival's "
                        + "(\(wrong.values.first!.evidence)); the target's true releases reached the room in order in three tries, so this was a release "
                        + "announced for a lock that was not released")
            }
        },
        ConformanceCase(
            "socketio.race-stale-timer", "PB-HOLD-6",
            "a lock released and taken again lives its whole new TTL: no stale timer of the first ends it early (seed race 5)"
        ) { c in
            let ttl = try c.shortLockTTL()
            let lifetime = Duration.milliseconds(Int(ttl * 1000))
            // A round whose steps a loaded machine delayed past the lock TTLs shows nothing either
            // way (the release would come after the first lock expired, or the check after the
            // second did): it runs again, three times at most.
            try await c.inRounds(SeedRace.rounds, deciding: 1) { _ in
                let race = try await SeedRace(c, seats: 1)
                let seat = race.seats[0]
                let lockedAt = try await race.ownerLocksAll().arrived[0]
                // Released at half its TTL and taken again: the second lock lives to about 1.5 TTL, the
                // first lock's timer fires at 1 TTL; the check comes as late as the second lock surely lives.
                try await Task.sleep(until: lockedAt + lifetime / 2)
                let mark = race.rivalSocket.events.count
                guard ContinuousClock.now < lockedAt + lifetime * 0.8 else {
                    return .undecided("the release would go out after the first lock's TTL")
                }
                race.ownerSocket.emit("release_lock", ["eventId": race.event, "seatId": seat])
                let released = try? await race.rivalSocket.next(after: mark, "seat_released after the owner's release") {
                    $0.name == "seat_released" && $0.object["seatId"] as? String == seat
                }
                if released == nil {
                    let expiredFirst = race.rivalSocket.events.prefix(mark).contains {
                        $0.name == "seat_released" && $0.object["seatId"] as? String == seat
                    }
                    guard expiredFirst else {
                        return .undecided("the owner's release of its live lock was not announced within 5 s (socketio.release-reason's matter)")
                    }
                    return .undecided("the first lock expired before the release reached the server")
                }
                // The owner takes the seat again (another tab, a second thought): a new lock with a new TTL.
                let relockSent = ContinuousClock.now
                guard try await c.lock(race.ownerSocket, race.event, seat, as: race.owner) else {
                    return .undecided("the owner could not lock the seat it had just released")
                }
                // The second lock was granted after relockSent, so it lives until relockSent + TTL at
                // least. The probe goes as late as that allows (less twice the time the lock took to be
                // answered, for the probe's own round trip): a first lock's timer that a loaded target
                // runs late has had every moment it can be given before the probe.
                let probeAt = relockSent + lifetime - max(lifetime * 0.05, (ContinuousClock.now - relockSent) * 2)
                guard probeAt > lockedAt + lifetime * 1.1 else {
                    return .undecided("the release and the relock took too long to leave a probe between the two locks' TTLs")
                }
                try await Task.sleep(until: probeAt)
                let probe = try await race.thirdUserLocks(seat)
                guard probe.granted else {
                    return .clean(
                        "the second lock outlived the first lock's TTL by \(Int(((probeAt - (lockedAt + lifetime)) / .milliseconds(1)).rounded())) ms"
                    )
                }
                guard race.instant(probe.atNs) < relockSent + lifetime else { return .undecided("the check came after the second lock's own TTL") }
                return .broken("the owner's second lock ended when its first would have, before its own TTL: another user then locked the seat")
            }
        },
    ]
}

/// How one round of a timing race came out.
enum RaceRound: Sendable {
    /// The round shows the case's defect: the evidence.
    case broken(String)
    /// The race happened and the target came through it: what it showed.
    case clean(String)
    /// The round shows nothing either way (the race did not happen, or came too late to prove anything): why.
    case undecided(String)
}

extension CaseContext {
    /// Runs `round` until `deciding` rounds decided (every one of `count` unless told), at most
    /// `atMost` rounds (`2 × count` unless told); the first round that shows the defect fails the
    /// case, naming the round. Each round starts afresh (a new event and sockets). When no round
    /// decided the case is INCONCLUSIVE, with each round's reason.
    func inRounds(_ count: Int, deciding: Int? = nil, atMost: Int? = nil, _ round: (Int) async throws -> RaceRound) async throws {
        var decided = 0
        var reasons: [String] = []
        var index = 0
        while decided < (deciding ?? count), index < (atMost ?? 2 * count) {
            index += 1
            switch try await round(index) {
            case .broken(let wrong): throw CaseFailure("round \(index): \(wrong)")
            case .clean(let what):
                decided += 1
                note("round \(index): \(what)")
            case .undecided(let why):
                reasons.append("round \(index): \(why)")
                note("round \(index) decided nothing: \(why)")
            }
        }
        guard decided > 0 else { throw CaseInconclusive("no round of \(index) decided: \(reasons.joined(separator: "; "))") }
        note("\(decided) rounds decided, none showed the race")
    }

    /// The target's lock TTL for the races that need an expiry (`--target-hold-ttl`), or
    /// ``CaseUnimplemented`` when it is unknown or too long to wait for.
    func shortLockTTL() throws -> Double {
        guard let ttl = session.lockTTLSeconds, (0.5...5).contains(ttl) else {
            throw CaseUnimplemented(
                "needs a target whose lock TTL is 0.5...5 s, given with --target-hold-ttl (it is \(session.lockTTLSeconds.map { "\($0) s" } ?? "unknown"))"
            )
        }
        return ttl
    }
}

/// The cast of a seed race: an event, its owner (who locks every seat first), a rival who wants
/// the same seats, and a third user who checks whether a lock still exists by asking for it. All
/// three are in the event's room before anything is locked.
final class SeedRace: Sendable {
    let context: CaseContext
    let event: String
    let seats: [String]
    let owner: TestUser
    let rival: TestUser
    let third: TestUser
    let ownerSocket: SocketIOConnection
    let rivalSocket: SocketIOConnection
    let thirdSocket: SocketIOConnection
    let price = 25
    /// Rounds of a timing race that must decide before a target is taken to be free of it.
    static let rounds = 3
    private let measured = Mutex<Duration?>(nil)

    init(_ context: CaseContext, seats count: Int) async throws {
        self.context = context
        event = try await context.event(rows: 1, cols: count, price: Double(price))
        var seats: [String] = []
        for column in 1...count { seats.append(try await context.seat(event, "A\(column)")) }
        self.seats = seats
        (owner, rival, third) = (try await context.user(0), try await context.user(1), try await context.user(2))
        ownerSocket = try await context.joinedSocket(event, token: owner.token)
        rivalSocket = try await context.joinedSocket(event, token: rival.token)
        thirdSocket = try await context.joinedSocket(event, token: third.token)
    }

    /// The lock TTL of the target (`--target-hold-ttl`; the seed's 600 s when not given).
    var lockTTL: Duration { context.session.lockTTL }

    /// The median round trip of the owner's locks (request_lock sent, its seat_locked heard): the
    /// pace every margin of the race follows (10 ms until measured).
    var pace: Duration { measured.withLock { $0 } ?? .milliseconds(10) }

    var paceMs: Int { Int((pace.seconds * 1000).rounded()) }

    /// How much slower than the seed stand-in on an idle machine (a lock round trip of about 15 ms) the target answers, at least 1.
    var slowdown: Double { max(1, pace.seconds / 0.015) }

    /// How long the broadcasts of a step take to arrive, at this pace.
    var settle: Duration { max(.milliseconds(200), pace * 10) }

    /// When the owner's locks were sent and when the room's `seat_locked` of each arrived.
    struct OwnerLocks {
        var sent: [ContinuousClock.Instant]
        var arrived: [ContinuousClock.Instant]
    }

    /// The owner locks every seat, one after another; returns when each was sent and when its
    /// `seat_locked` arrived (the arrival itself, not when a poll saw it: the expiry instants are
    /// estimated from these, and a poll's 10 ms would blur them). Measures the pace, and waits until
    /// the rival and the third user heard every lock too (the seed does not acknowledge a join).
    @discardableResult
    func ownerLocksAll() async throws -> OwnerLocks {
        var locks = OwnerLocks(sent: [], arrived: [])
        for seat in seats {
            let sent = ContinuousClock.now
            try context.check(try await context.lock(ownerSocket, event, seat, as: owner), "the first lock of a free seat failed")
            let arrival =
                ownerSocket.events.last { $0.name == "seat_locked" && $0.object["seatId"] as? String == seat }.map { instant($0.receivedAtNs) }
                ?? .now
            locks.sent.append(sent)
            locks.arrived.append(arrival)
        }
        let trips = zip(locks.sent, locks.arrived).map { $1 - $0 }.sorted()
        measured.withLock { $0 = trips[trips.count / 2] }
        for socket in [rivalSocket, thirdSocket] {
            for seat in seats {
                _ = try await socket.next("the room's seat_locked of the owner's lock") {
                    $0.name == "seat_locked" && $0.object["seatId"] as? String == seat
                }
            }
        }
        return locks
    }

    /// The instant on the continuous clock of a wall-clock arrival (`receivedAtNs`).
    func instant(_ wallNs: Int64) -> ContinuousClock.Instant { .now - .nanoseconds(WireRecorder.nowNs() - wallNs) }

    /// The rival asks for `seat` every 3 ms (every 0.5 ms before `denseUntil`) from `start` until
    /// the room says it got it, or `end`; on a slower target (a lock round trip above 15 ms) less
    /// often, in proportion: asking faster than the target answers floods it, its queue delays
    /// every request, and the instants that matter blur. Returns when it first asked.
    @discardableResult
    func rivalAsks(
        for seat: String, from start: ContinuousClock.Instant, until end: ContinuousClock.Instant,
        denseUntil: ContinuousClock.Instant? = nil
    ) async throws -> ContinuousClock.Instant {
        try await Task.sleep(until: start)
        let first = ContinuousClock.now
        while ContinuousClock.now < end, !rivalHolds(seat) {
            rivalSocket.emit("request_lock", ["eventId": event, "seatId": seat])
            try await Task.sleep(
                for: (denseUntil.map { ContinuousClock.now < $0 } == true ? Duration.microseconds(500) : .milliseconds(3)) * slowdown)
        }
        return first
    }

    /// What the third user's request for a seat came to: granted or refused, and when the answer arrived.
    struct Probe: Sendable {
        var granted: Bool
        var atNs: Int64
    }

    /// The third user asks for `seat` once.
    func thirdUserLocks(_ seat: String) async throws -> Probe {
        let granted = try await context.lock(thirdSocket, event, seat, as: third, seconds: max(5, (pace * 50).seconds))
        let answer = thirdSocket.events.last { $0.object["seatId"] as? String == seat && ($0.name == "lock_failed" || $0.name == "seat_locked") }
        return Probe(granted: granted, atNs: answer?.receivedAtNs ?? WireRecorder.nowNs())
    }

    /// One round of seed race 1's setting.
    struct ReleaseRound {
        /// The seats the rival won, and when it first asked for each (its lock cannot be older).
        var won: [String]
        var firstAsk: [String: ContinuousClock.Instant]
        /// What the third user's request came to, for each seat won (with `probe`).
        var probes: [String: Probe]
        /// When the owner asked for each seat's lock (its TTL cannot end sooner after).
        var ownerLockSent: [String: ContinuousClock.Instant]
    }

    /// The owner locks every seat, then releases them seat by seat, a few paces apart: six
    /// release_lock within about two milliseconds, while the rival keeps asking for the seat from
    /// just before. A release that reads its owner and deletes in two steps lets a later one of
    /// the six delete the lock the rival got from an earlier one. With `probe`, once the rival has
    /// a seat and the owner's releases have had time to land, the third user asks for it.
    func repeatedRelease(probe: Bool) async throws -> ReleaseRound {
        let locks = try await ownerLocksAll()
        let spacing = max(Duration.milliseconds(30), pace * 3)
        let start = ContinuousClock.now + max(.milliseconds(50), pace * 3)
        let results = try await withThrowingTaskGroup(of: (String, ContinuousClock.Instant?, Probe?).self) { group in
            for (index, seat) in seats.enumerated() {
                let at = start + spacing * index
                group.addTask {
                    try await Task.sleep(until: at)
                    for _ in 0..<6 {
                        self.ownerSocket.emit("release_lock", ["eventId": self.event, "seatId": seat])
                        try await Task.sleep(for: .microseconds(300))
                    }
                    return (seat, nil, nil)
                }
                group.addTask {
                    let first = try await self.rivalAsks(
                        for: seat, from: at - .milliseconds(8), until: at + max(.milliseconds(500), self.pace * 25),
                        denseUntil: at + .milliseconds(12))
                    guard probe, self.rivalHolds(seat) else { return (seat, first, nil) }
                    try await Task.sleep(until: max(ContinuousClock.now, at + .milliseconds(2)) + max(.milliseconds(30), self.pace * 3))
                    return (seat, first, try await self.thirdUserLocks(seat))
                }
            }
            return try await group.reduce(into: [(String, ContinuousClock.Instant?, Probe?)]()) { $0.append($1) }
        }
        var round = ReleaseRound(
            won: seatsWonByRival(), firstAsk: [:], probes: [:], ownerLockSent: Dictionary(uniqueKeysWithValues: zip(seats, locks.sent)))
        for (seat, first, probe) in results {
            if let first { round.firstAsk[seat] = first }
            if let probe { round.probes[seat] = probe }
        }
        return round
    }

    /// A round in which the rival won no released seat: the owner's release did not release (the
    /// seat map still shows its locks), or the race did not happen.
    func nothingWon(_ round: ReleaseRound) async throws -> RaceRound {
        let map = try await context.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
        let stillOwners = map.filter { $0.string("lockedBy") == owner.id }.count
        if stillOwners == seats.count {
            return .broken("the owner's release_lock released none of its \(seats.count) locks: the seat map still shows them all the owner's")
        }
        return .undecided("the rival won none of the \(seats.count) released seats")
    }

    /// Seed race 2's setting: each seat's checkout is sent at its lock's estimated expiry (when
    /// the room heard the lock, plus `ttl`) less a lock's round trip, plus its `offsets` entry,
    /// while the rival asks for the seat from just before that expiry. Returns the seats booked
    /// and when each 201 came.
    func checkoutsAtExpiry(_ locks: OwnerLocks, ttl: Double, offsets: [Duration]) async throws -> [String: ContinuousClock.Instant] {
        try await withThrowingTaskGroup(of: (String, ContinuousClock.Instant?).self) { group in
            for (index, seat) in seats.enumerated() {
                let expiry = locks.arrived[index] + .milliseconds(Int(ttl * 1000))
                group.addTask {
                    try await Task.sleep(until: expiry - self.pace + offsets[index])
                    let reply = try await self.context.call(
                        .POST, "/api/v1/events/\(self.event)/seats", token: self.owner.token,
                        json: ["seatIds": [seat], "totalAmount": self.price])
                    return (seat, reply.status == 201 ? ContinuousClock.now : nil)
                }
                group.addTask {
                    try await self.rivalAsks(
                        for: seat, from: expiry - max(.milliseconds(12), self.pace), until: expiry + max(.seconds(1), self.pace * 20))
                    return (seat, nil)
                }
            }
            return try await group.reduce(into: [String: ContinuousClock.Instant]()) { if let at = $1.1 { $0[$1.0] = at } }
        }
    }

    /// Whether `event` is the room's `seat_locked` of `seat` by the rival.
    private func isRivalLock(_ event: SocketIOConnection.Event, _ seat: String) -> Bool {
        event.name == "seat_locked" && event.object["seatId"] as? String == seat && event.object["lockedBy"] as? String == rival.id
    }

    private func rivalHolds(_ seat: String) -> Bool { rivalSocket.events.contains { isRivalLock($0, seat) } }

    /// The seats the room heard locked by the rival.
    func seatsWonByRival() -> [String] { seats.filter(rivalHolds) }

    /// The room's `seat_locked` of `seat` by the rival, as they arrived (more than one without a
    /// release of its own: its lock vanished in between).
    func rivalLocks(_ seat: String) -> [SocketIOConnection.Event] { rivalSocket.events.filter { isRivalLock($0, seat) } }

    /// The room's changes of `seat` as the rival heard them, in arrival order.
    func changes(_ seat: String) -> [SocketIOConnection.Event] {
        rivalSocket.events.filter { event in
            switch event.name {
            case "seat_locked", "seat_released": event.object["seatId"] as? String == seat
            case "seats_booked": (event.object["seatIds"] as? [String] ?? []).contains(seat)
            default: false
            }
        }
    }

    /// Whether every change of `seat` the room heard carries a seq.
    func hasSeq(_ seat: String) -> Bool {
        let heard = changes(seat)
        return !heard.isEmpty && heard.allSatisfy { $0.object["seq"] is NSNumber }
    }

    /// A seat the room was told wrong: how, and whether the evidence shows a true release
    /// delivered after the lock that followed it (`lateDelivery`) or a release announced for nothing.
    struct WrongView {
        var evidence: String
        var lateDelivery: Bool
        /// Whether the seqs decided it.
        var bySeq: Bool
    }

    /// Of `candidates` (seats the rival won), those the room was last told released while the seat
    /// map, read after that message arrived, showed them the rival's, and no `seat_locked` of them
    /// came in the settling time after: every client shows a held seat free. Each is told apart:
    /// with seq, by the seqs (the rival's lock numbered after the release: delivered late; the
    /// release numbered after the lock: a release of nothing); without, by the count (one release
    /// per lock the room heard, less the lock that stands: a true release delivered late; more
    /// releases: a release of nothing).
    /// `ownerLockSent` (when given): when the owner's lock of each seat was asked for. Without
    /// seq, the count tells a late release only while the owner's lock was surely live: a change
    /// heard once its TTL could have run out may be the expiry's announcement (not a late delivery).
    func misinformed(_ candidates: [String], ownerLockSent: [String: ContinuousClock.Instant] = [:]) async throws -> [String: WrongView] {
        try await Task.sleep(for: settle)
        let mapSentNs = WireRecorder.nowNs()
        let map = try await context.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
        let rivals = Set(map.filter { $0.string("lockedBy") == rival.id }.compactMap { context.documentID($0) })
        try await Task.sleep(for: max(.milliseconds(100), pace * 5))
        var wrong: [String: WrongView] = [:]
        for seat in candidates where rivals.contains(seat) {
            let heard = changes(seat)
            let before = heard.filter { $0.receivedAtNs < mapSentNs }
            guard before.last?.name == "seat_released", !heard.dropFirst(before.count).contains(where: { $0.name == "seat_locked" }) else { continue }
            let names = heard.map {
                $0.name == "seat_locked" ? "locked(\($0.object["lockedBy"] as? String == rival.id ? "rival" : "owner"))" : "released"
            }
            if hasSeq(seat) {
                let bySeq = heard.sorted { ($0.object["seq"] as! NSNumber).int64Value < ($1.object["seq"] as! NSNumber).int64Value }
                let late = bySeq.last.map { isRivalLock($0, seat) } ?? false
                let seqs = heard.map { "\($0.name) \(($0.object["seq"] as! NSNumber).int64Value)" }
                wrong[seat] = WrongView(
                    evidence: "the room heard \(seqs.joined(separator: ", "))"
                        + (late ? " (the rival's lock has the later seq)" : " (the release has a seq after the rival's lock)"), lateDelivery: late,
                    bySeq: true)
            } else {
                let locks = heard.filter { $0.name == "seat_locked" }.count
                let releases = heard.filter { $0.name == "seat_released" }.count
                let lapse = ownerLockSent[seat].map { $0 + lockTTL }
                let whileLive = lapse.map { lapse in heard.allSatisfy { instant($0.receivedAtNs) < lapse } } ?? true
                let late = releases == locks - 1 && whileLive
                let why =
                    releases != locks - 1
                    ? ": more releases than there were changes" : whileLive ? "" : ", heard after the owner's lock could have lapsed"
                wrong[seat] = WrongView(
                    evidence: "the room heard \(names.joined(separator: ", ")) (no seq): \(releases) release(s) for \(locks) locks, one of "
                        + "which stands" + why, lateDelivery: late, bySeq: false)
            }
        }
        return wrong
    }

    /// Of `booked`, the seats the room heard locked by the rival before it heard them booked.
    func seatsLockedByRivalBeforeBooked(_ booked: Set<String>) -> [String] {
        booked.sorted().filter { seat in
            let heard = changes(seat)
            if hasSeq(seat) {
                let seq: (SocketIOConnection.Event) -> Int64 = { ($0.object["seq"] as! NSNumber).int64Value }
                guard let sold = heard.filter({ $0.name == "seats_booked" }).map(seq).min() else { return false }
                return heard.contains { isRivalLock($0, seat) && seq($0) < sold }
            }
            guard let sold = heard.firstIndex(where: { $0.name == "seats_booked" }) else { return false }
            return heard[..<sold].contains { isRivalLock($0, seat) }
        }
    }
}
