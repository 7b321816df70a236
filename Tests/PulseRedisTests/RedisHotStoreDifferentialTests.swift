import PulseEngine
import PulseProtocol
import PulseWire
import Synchronization
import Testing

@testable import PulseRedis
@testable import PulseReference

/// The Redis hot store must behave exactly as the in-memory one: the same seeded random sequences
/// of holds, releases, extensions, expiries and checkout steps give identical answers and
/// identical seq streams on both.
@Suite("Redis hot store: differential against the in-memory hot store", .timeLimit(.minutes(10)))
struct RedisHotStoreDifferentialTests {
    static let events = ["aaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaa2"]
    static let users = ["u1", "u2", "u3"]
    static let seats = ["A1", "A2", "A3", "A4", "B1", "B2"]

    /// The operation mix's choices, from a seeded generator.
    struct Dice {
        var random: SeededRandom
        init(state: UInt64) { random = SeededRandom(seed: state) }
        mutating func next() -> UInt64 { random.next() }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
        mutating func hex() -> String { String(format: "%016llx%016llx", next(), next()) }
        mutating func someSeats() -> [String] {
            var chosen: [String] = []
            for _ in 0...below(3) {
                let seat = pick(RedisHotStoreDifferentialTests.seats)
                if !chosen.contains(seat) { chosen.append(seat) }
            }
            return chosen
        }
    }

    @Test("an event's state in the older key layout (a 'booked' set, no booking ids) is rebuilt from the durable store, on a new generation")
    func olderLayoutIsRebuilt() async throws {
        let server = try await RedisServerProcess()
        let client = RedisClient(try RedisWorld.configuration(server))
        defer { Task { await client.close() } }
        let generation = Mutex<Int64>(1)
        let recovery = HotStateRecovery(
            nextGeneration: {
                generation.withLock {
                    $0 += 1
                    return $0
                }
            }, bookedSeats: { _ in ["A1": "b1"] })
        let redis = RedisHotStore(client: client, recovery: recovery, clock: .caller)
        let event = Self.events[0]
        _ = try await redis.hold(eventID: event, seatIDs: ["A2"], userID: "u1", holdID: "h1", nowMs: 0, ttlMs: 60_000, heldSeatsPerUserMax: 4)
        let before = try await redis.snapshot(eventID: event, nowMs: 0)
        #expect(before.booked == ["A1"] && before.lockedBy == ["A2": "u1"])
        // What a server of the older layout left: no layout mark, its sold seats in a set.
        let prefix = "pulse:{ev:\(event)}:"
        _ = try await client.send("HDEL", prefix + "meta", "layout")
        _ = try await client.send("SADD", prefix + "booked", "B2")
        let after = try await redis.snapshot(eventID: event, nowMs: 0)
        #expect(after.booked == ["A1"] && after.lockedBy == [:], "rebuilt from the durable store: its holds are gone")
        #expect(after.seq >> 32 > before.seq >> 32, "on a new generation: subscribers resync")
        #expect(try await client.send("EXISTS", prefix + "booked").int == 0, "the older layout's keys are dropped")
        #expect(try await redis.soldSeats(eventID: event) == ["A1": "b1"])
    }

    @Test("seeded random operation sequences give identical answers and seq streams", arguments: 0..<24)
    func sameBehaviour(seed: UInt64) async throws {
        let server = try await RedisServerProcess()
        // An equivalence test, not a timing one: 24 of these run at once beside the other suites,
        // so connecting and each command get the patient bounds of the engine's Redis world (a
        // loaded run failed four seeds on the 1 s connect bound).
        let client = RedisClient(try RedisWorld.configuration(server))
        defer { Task { await client.close() } }
        do {
            let memory = InMemoryHotStore(generation: 1)
            let redis = RedisHotStore(client: client, recovery: HotStateRecovery(nextGeneration: { 1 }, bookedSeats: { _ in [:] }), clock: .caller)
            var dice = Dice(state: seed)
            var now: Int64 = 1_000_000
            var holdIDs: [String] = []
            var checkoutIDs: [String] = []
            for step in 0..<250 {
                let event = dice.pick(Self.events)
                let user = dice.pick(Self.users)
                let what: String
                let same: Bool
                switch dice.below(13) {
                case 0, 1, 2:
                    let id = dice.hex()
                    holdIDs.append(id)
                    let seats = dice.someSeats()
                    what = "hold \(seats) by \(user)"
                    let a = try await memory.hold(
                        eventID: event, seatIDs: seats, userID: user, holdID: id, nowMs: now, ttlMs: 1000, heldSeatsPerUserMax: 4)
                    let b = try await redis.hold(
                        eventID: event, seatIDs: seats, userID: user, holdID: id, nowMs: now, ttlMs: 1000, heldSeatsPerUserMax: 4)
                    same = a == b
                case 3:
                    let target: ReleaseTarget = dice.below(2) == 0 && !holdIDs.isEmpty ? .hold(id: dice.pick(holdIDs)) : .seats(dice.someSeats())
                    let reason = dice.pick([ReleaseReason.released, .disconnected])
                    what = "release \(target) by \(user)"
                    let a = try await memory.release(eventID: event, target: target, userID: user, reason: reason, nowMs: now)
                    let b = try await redis.release(eventID: event, target: target, userID: user, reason: reason, nowMs: now)
                    same = a == b
                case 4:
                    guard !holdIDs.isEmpty else { continue }
                    let id = dice.pick(holdIDs)
                    what = "extend \(id) by \(user)"
                    let a = try await memory.extend(
                        eventID: event, holdID: id, userID: user, nowMs: now, byMs: 600, lifetimeMs: 2500, lifetimeForTTLMs: 1000)
                    let b = try await redis.extend(
                        eventID: event, holdID: id, userID: user, nowMs: now, byMs: 600, lifetimeMs: 2500, lifetimeForTTLMs: 1000)
                    same = a == b
                case 5, 6:
                    let id = dice.hex()
                    checkoutIDs.append(id)
                    let seats = dice.someSeats()
                    let holdID = dice.below(3) == 0 && !holdIDs.isEmpty ? dice.pick(holdIDs) : nil
                    what = "begin checkout \(seats) by \(user) with hold \(holdID ?? "-")"
                    let a = try await memory.beginCheckout(
                        eventID: event, seatIDs: seats, userID: user, holdID: holdID, checkoutID: id, nowMs: now, leaseMs: 700)
                    let b = try await redis.beginCheckout(
                        eventID: event, seatIDs: seats, userID: user, holdID: holdID, checkoutID: id, nowMs: now, leaseMs: 700)
                    same = a == b
                case 7:
                    guard !checkoutIDs.isEmpty else { continue }
                    let id = dice.pick(checkoutIDs)
                    let seats = dice.someSeats()
                    what = "finish checkout \(id) \(seats)"
                    try await memory.finishCheckout(eventID: event, checkoutID: id, seatIDs: seats, nowMs: now)
                    try await redis.finishCheckout(eventID: event, checkoutID: id, seatIDs: seats, nowMs: now)
                    same = true
                case 8:
                    guard !checkoutIDs.isEmpty else { continue }
                    let id = dice.pick(checkoutIDs)
                    let release = dice.below(2) == 0
                    what = "abort checkout \(id) release \(release)"
                    try await memory.abortCheckout(eventID: event, checkoutID: id, releaseHolds: release, nowMs: now)
                    try await redis.abortCheckout(eventID: event, checkoutID: id, releaseHolds: release, nowMs: now)
                    same = true
                case 9:
                    what = "expire due and lapsed checkouts"
                    let a = (try await memory.expireDue(nowMs: now), try await memory.lapsedCheckouts(nowMs: now))
                    let b = (try await redis.expireDue(nowMs: now), try await redis.lapsedCheckouts(nowMs: now))
                    same = a.0 == b.0 && a.1 == b.1
                case 10:
                    what = "snapshot and holds of \(user)"
                    let a = (try await memory.snapshot(eventID: event, nowMs: now), try await memory.holds(eventID: event, userID: user, nowMs: now))
                    let b = (try await redis.snapshot(eventID: event, nowMs: now), try await redis.holds(eventID: event, userID: user, nowMs: now))
                    same = a.0 == b.0 && a.1 == b.1
                case 11:
                    // A cancellation: of a finished checkout's booking (often), of one still frozen, or of an unknown one.
                    guard !checkoutIDs.isEmpty else { continue }
                    let id = dice.pick(checkoutIDs)
                    let seats = dice.someSeats()
                    what = "free booked \(id) \(seats)"
                    let a = try await memory.freeBooked(eventID: event, bookingID: id, seatIDs: seats, nowMs: now)
                    let b = try await redis.freeBooked(eventID: event, bookingID: id, seatIDs: seats, nowMs: now)
                    same = a == b
                default:
                    now += Int64(dice.below(5) * 100)  // multiples of 100 ms land exactly on expiries and leases too
                    continue
                }
                #expect(same, "seed \(seed) step \(step): \(what) answered differently")
                if !same { return }
            }
            for event in Self.events {
                let a = try await memory.changes(eventID: event, afterSeq: 1 << 32)
                let b = try await redis.changes(eventID: event, afterSeq: 1 << 32)
                #expect(a == b, "seed \(seed): the change logs of \(event) differ")
                guard case .changes(let log) = a else { continue }
                #expect(log.map(\.seq) == log.indices.map { (1 << 32) + 1 + Int64($0) }, "gap-free seqs")
                let middle = (1 << 32) + Int64(log.count / 2)
                #expect(try await memory.changes(eventID: event, afterSeq: middle) == (try await redis.changes(eventID: event, afterSeq: middle)))
                #expect(try await redis.changes(eventID: event, afterSeq: 5) == .trimmed, "a seq of another generation")
            }
        }
    }
}
