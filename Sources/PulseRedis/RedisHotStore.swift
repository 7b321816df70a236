import PulseEngine
import PulseProtocol

/// Where a hot store recovers lost or new state from: the durable store (ARCHITECTURE.md, "When the hot state is lost": the durable
/// store is the final arbiter, so a hot state that Redis lost is rebuilt from it).
public struct HotStateRecovery: Sendable {
    /// A number that grows on every call (``DurableStore/nextHotGeneration()``).
    public var nextGeneration: @Sendable () async throws -> Int64
    /// The seats the durable store has booked in an event: seat -> booking id.
    public var bookedSeats: @Sendable (_ eventID: String) async throws -> [String: String]

    public init(
        nextGeneration: @escaping @Sendable () async throws -> Int64,
        bookedSeats: @escaping @Sendable (_ eventID: String) async throws -> [String: String]
    ) {
        self.nextGeneration = nextGeneration
        self.bookedSeats = bookedSeats
    }

    /// Recovery from a durable store.
    public static func from(_ durable: any DurableStore) -> HotStateRecovery {
        HotStateRecovery(nextGeneration: { try await durable.nextHotGeneration() }, bookedSeats: { try await durable.bookedSeats(eventID: $0) })
    }
}

/// The hot store on Redis: every step one Lua script on one event's keys (``RedisHotScripts``),
/// so several server instances sharing one Redis act as one engine.
///
/// An event's state is created on first use, and re-created after Redis lost it or when it was
/// built on another Redis process (a restart, a promoted replica: see ``RedisHotScripts``), from a
/// fresh generation of the durable store (its seqs and fences start above every earlier one, so
/// subscribers resync with a snapshot) and the durable store's booked seats; holds do not survive.
/// Redis timeouts and lost connections surface as ``HotStoreError/unavailable(_:)``.
///
/// As a `Service` it follows the change logs of every event, so that the change feed also rings
/// for changes other instances made (``run()``).
public final class RedisHotStore: HotStore {
    /// Whose clock decides when holds expire and checkout leases run out.
    public enum Clock: Sendable {
        /// Redis's own (`TIME` in each step): every instance sharing this Redis expires a hold at
        /// the same instant however far their own clocks are apart (a server whose clock was
        /// stepped 3 s ahead would otherwise expire every other instance's holds 3 s early).
        case redis
        /// The `nowMs` each step is given: for tests that drive the time by hand.
        case caller
    }

    public let changeFeed = ChangeFeed()
    let client: RedisClient
    let recovery: HotStateRecovery
    let clock: Clock
    /// The set of event ids that have hot state, for the sweeps across events.
    static let eventsKey = "pulse:events"

    public init(client: RedisClient, recovery: HotStateRecovery, clock: Clock = .redis) {
        self.client = client
        self.recovery = recovery
        self.clock = clock
    }

    /// The time argument of a step (`ARGV[2]`): `redis` for Redis's clock, else `nowMs`.
    func time(_ nowMs: Int64) -> String {
        switch clock {
        case .redis: "redis"
        case .caller: String(nowMs)
        }
    }

    /// The step's time in milliseconds: Redis's clock (`TIME`) or `nowMs`.
    func milliseconds(_ nowMs: Int64) async throws -> Int64 {
        guard clock == .redis else { return nowMs }
        let reply = try await mapErrors { try await client.send("TIME") }.array ?? []
        guard reply.count == 2, let seconds = reply[0].string.flatMap({ Int64($0) }), let micros = reply[1].string.flatMap({ Int64($0) }) else {
            throw HotStoreError.unavailable("unexpected TIME reply \(reply)")
        }
        return seconds * 1000 + micros / 1000
    }

    static func prefix(_ eventID: String) -> String { "pulse:{ev:\(eventID)}:" }

    /// Runs a script on an event, (re)initialising the event once if it has no state. Rings the
    /// change feed when the step appended changes. Returns the answer after the changed flag.
    func run(_ script: RedisScript, _ eventID: String, _ arguments: [String]) async throws -> [RESPValue] {
        for attempt in 0..<2 {
            let reply = try await mapErrors { try await script.run(on: client, keys: [Self.prefix(eventID)], arguments: arguments, bound: true) }
            guard let elements = reply.array, let first = elements.first else { throw HotStoreError.unavailable("unexpected reply \(reply)") }
            if first.string == "NOSTATE" {
                guard attempt == 0 else { break }
                try await initialise(eventID)
                continue
            }
            if first.int == 1 { changeFeed.markChanged(eventID) }
            return Array(elements.dropFirst())
        }
        throw HotStoreError.unavailable("the state of event \(eventID) could not be initialised")
    }

    private func initialise(_ eventID: String) async throws {
        let base = try await recovery.nextGeneration() << 32
        let booked = try await recovery.bookedSeats(eventID)
        _ = try await mapErrors {
            try await RedisHotScripts.initialise.run(
                on: client, keys: [Self.prefix(eventID)], arguments: ["init", "-", String(base)] + Self.pairs(booked), bound: true)
        }
        _ = try await mapErrors { try await client.send("SADD", Self.eventsKey, eventID) }
    }

    func mapErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RedisError {
            throw HotStoreError.unavailable(error.description)
        }
    }

    public func hold(
        eventID: String, seatIDs: [String], userID: String, holdID: String, nowMs: Int64, ttlMs: Int64, heldSeatsPerUserMax: Int,
        eventStamp: Int64?
    ) async throws -> HoldOutcome {
        let answer = try await run(
            RedisHotScripts.hold, eventID,
            [
                "hold", time(nowMs), holdID, userID, String(ttlMs), String(heldSeatsPerUserMax),
                eventStamp.map(String.init) ?? "",
            ] + seatIDs)
        switch answer.first?.string {
        case "granted":
            return .granted(
                HoldRecord(
                    id: holdID, eventID: eventID, userID: userID, seatIDs: seatIDs, fence: try int(answer, 1),
                    createdAtMs: try int(answer, 2), expiresAtMs: try int(answer, 3), ttlMs: ttlMs))
        case "unavailable": return .unavailable(seatIDs: strings(answer.dropFirst()))
        case "limit": return .limitExceeded(heldSeats: Int(try int(answer, 1)))
        case "stale": return .staleEvent(stamp: try int(answer, 1))
        default: throw unexpected(answer)
        }
    }

    public func eventStamp(eventID: String) async throws -> Int64 {
        try int(try await run(RedisHotScripts.stamp, eventID, ["stamp", "-"]), 0)
    }

    public func touchEvent(eventID: String) async throws {
        _ = try await run(RedisHotScripts.touch, eventID, ["touch", "-"])
    }

    public func release(eventID: String, target: ReleaseTarget, userID: String, reason: ReleaseReason, nowMs: Int64) async throws -> ReleaseOutcome {
        let targets: [String] =
            switch target {
            case .hold(let id): ["hold", id]
            case .seats(let seats): ["seats"] + seats
            }
        let answer = try await run(RedisHotScripts.release, eventID, ["release", time(nowMs), userID, reason.rawValue] + targets)
        switch answer.first?.string {
        case "released": return .released(seatIDs: strings(answer.dropFirst()))
        case "notfound": return .notFound
        case "incheckout": return .inCheckout
        default: throw unexpected(answer)
        }
    }

    public func extend(eventID: String, holdID: String, userID: String, nowMs: Int64, byMs: Int64?, lifetimeMs: Int64, lifetimeForTTLMs: Int64)
        async throws -> ExtendOutcome
    {
        let answer = try await run(
            RedisHotScripts.extend, eventID,
            ["extend", time(nowMs), holdID, userID, byMs.map(String.init) ?? "", String(lifetimeMs), String(lifetimeForTTLMs)])
        switch answer.first?.string {
        case "extended":
            return .extended(
                HoldRecord(
                    id: holdID, eventID: eventID, userID: userID, seatIDs: seats(answer, 4), fence: try int(answer, 1),
                    createdAtMs: try int(answer, 2), expiresAtMs: try int(answer, 3), ttlMs: try int(answer, 5)))
        case "beyondttl": return .beyondTTL(ttlMs: try int(answer, 1))
        case "notfound": return .notFound
        case "expired": return .expired
        case "incheckout": return .inCheckout
        default: throw unexpected(answer)
        }
    }

    public func beginCheckout(eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64, leaseMs: Int64)
        async throws -> BeginCheckoutOutcome
    {
        let answer = try await run(
            RedisHotScripts.beginCheckout, eventID,
            ["begin", time(nowMs), userID, holdID ?? "", checkoutID, String(leaseMs)] + seatIDs)
        switch answer.first?.string {
        case "begun":
            let fences = try (0..<seatIDs.count).map { try int(answer, 2 + $0) }
            return .begun(
                CheckoutTicket(
                    checkoutID: checkoutID, eventID: eventID, userID: userID, seatIDs: seatIDs,
                    fences: Dictionary(uniqueKeysWithValues: zip(seatIDs, fences)), leaseUntilMs: try int(answer, 1)))
        case "holdnotfound": return .holdNotFound
        case "holdexpired": return .holdExpired(seatIDs: strings(answer.dropFirst()))
        case "notheld": return .notHeld(seatIDs: strings(answer.dropFirst()))
        case "inprogress": return .inProgress(seatIDs: strings(answer.dropFirst()))
        default: throw unexpected(answer)
        }
    }

    public func finishCheckout(eventID: String, checkoutID: String, seatIDs: [String], nowMs: Int64) async throws {
        _ = try await run(RedisHotScripts.finishCheckout, eventID, ["finish", time(nowMs), checkoutID] + seatIDs)
    }

    public func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String] {
        try await run(RedisHotScripts.freeBooked, eventID, ["free", time(nowMs), bookingID] + seatIDs).compactMap(\.string)
    }

    public func abortCheckout(eventID: String, checkoutID: String, releaseHolds: Bool, nowMs: Int64) async throws {
        _ = try await run(RedisHotScripts.abortCheckout, eventID, ["abort", time(nowMs), checkoutID, releaseHolds ? "1" : "0"])
    }

    public func lapsedCheckouts(nowMs: Int64) async throws -> [CheckoutTicket] {
        // One reading of the clock for the whole sweep: a sweep visits every event with hot state.
        let until = try await milliseconds(nowMs)
        return try await mapEvents { eventID in try await self.lapsedCheckouts(eventID: eventID, until: until) }.flatMap { $0 }
            .sorted { ($0.leaseUntilMs, $0.checkoutID) < ($1.leaseUntilMs, $1.checkoutID) }
    }

    /// The checkouts of `eventID` whose lease ended at `until` (ms, on the store's clock) or before.
    private func lapsedCheckouts(eventID: String, until: Int64) async throws -> [CheckoutTicket] {
        let prefix = Self.prefix(eventID)
        var tickets: [CheckoutTicket] = []
        let ids = try await mapErrors { try await client.send("ZRANGEBYSCORE", prefix + "leases", "-inf", String(until)) }.array ?? []
        for id in ids.compactMap(\.string) {
            let fields = try await mapErrors { try await client.send("HMGET", prefix + "co:" + id, "u", "s", "f", "l") }.array ?? []
            guard fields.count == 4, let user = fields[0].string, let seatList = fields[1].string, let fenceList = fields[2].string,
                let lease = fields[3].int
            else { continue }
            let seats = seatList.split(separator: ",").map(String.init)
            let fences = fenceList.split(separator: ",").compactMap { Int64($0) }
            tickets.append(
                CheckoutTicket(
                    checkoutID: id, eventID: eventID, userID: user, seatIDs: seats,
                    fences: Dictionary(uniqueKeysWithValues: zip(seats, fences)), leaseUntilMs: lease))
        }
        return tickets
    }

    public func expireDue(nowMs: Int64) async throws -> Int {
        try await mapEvents { eventID in Int(try self.int(try await self.run(RedisHotScripts.expire, eventID, ["expire", self.time(nowMs)]), 0)) }
            .reduce(0, +)
    }

    /// `body` for every event with hot state, up to 64 at once (their commands pipeline on the
    /// pool, so a sweep over many events takes a few round trips, not one per event); the results
    /// in event order.
    func mapEvents<T: Sendable>(_ body: @escaping @Sendable (String) async throws -> T) async throws -> [T] {
        let events = try await knownEvents()
        var results = [T?](repeating: nil, count: events.count)
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for (index, eventID) in events.enumerated() {
                if index >= 64, let (done, value) = try await group.next() { results[done] = value }
                group.addTask { (index, try await body(eventID)) }
            }
            for try await (done, value) in group { results[done] = value }
        }
        return results.map { $0! }
    }

    public func snapshot(eventID: String, nowMs: Int64) async throws -> HotSnapshot {
        let answer = try await run(RedisHotScripts.snapshot, eventID, ["snapshot", time(nowMs)])
        guard answer.count == 3, let booked = answer[1].array, let locked = answer[2].array else { throw unexpected(answer) }
        var lockedBy: [String: String] = [:]
        for index in stride(from: 0, to: locked.count - 1, by: 2) {
            if let seat = locked[index].string, let user = locked[index + 1].string { lockedBy[seat] = user }
        }
        return HotSnapshot(seq: try int(answer, 0), lockedBy: lockedBy, booked: Set(booked.compactMap(\.string)))
    }

    public func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        let answer = try await run(RedisHotScripts.changes, eventID, ["changes", "-", String(afterSeq)])
        switch answer.first?.string {
        case "trimmed": return .trimmed
        case "changes": return .changes(try answer.dropFirst().map { try RedisChangeLog.decode($0, eventID: eventID) })
        default: throw unexpected(answer)
        }
    }

    public func holds(eventID: String, userID: String, nowMs: Int64) async throws -> [HoldRecord] {
        let answer = try await run(RedisHotScripts.holds, eventID, ["holds", time(nowMs), userID])
        guard let rows = answer.first?.array else { throw unexpected(answer) }
        return try rows.map { row in
            guard let fields = row.array, fields.count == 7, let id = fields[0].string else { throw unexpected(answer) }
            let checkout = fields[5].string ?? ""
            return HoldRecord(
                id: id, eventID: eventID, userID: userID, seatIDs: seats(fields, 1), fence: try int(fields, 2),
                createdAtMs: try int(fields, 3), expiresAtMs: try int(fields, 4), ttlMs: try int(fields, 6),
                checkoutID: checkout.isEmpty ? nil : checkout)
        }.sorted { ($0.createdAtMs, $0.id) < ($1.createdAtMs, $1.id) }
    }

    public func soldSeats(eventID: String) async throws -> [String: String] {
        let pairs = try await run(RedisHotScripts.soldSeats, eventID, ["sold", "-"]).first?.array ?? []
        return Dictionary(
            stride(from: 0, to: pairs.count - 1, by: 2).compactMap { index in
                pairs[index].string.flatMap { seat in pairs[index + 1].string.map { (seat, $0) } }
            }, uniquingKeysWith: { first, _ in first })
    }

    public func loadBooked(eventID: String, bookings: [String: String]) async throws {
        _ = try await run(RedisHotScripts.loadBooked, eventID, ["load", "-"] + Self.pairs(bookings))
    }

    /// Seat, booking id, seat, booking id, ... in seat order (script arguments).
    static func pairs(_ bookings: [String: String]) -> [String] {
        bookings.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] }
    }

    public func ping() async throws {
        _ = try await mapErrors { try await client.send("PING") }
    }

    /// The event's keys stay as a tombstone (meta, booked seats, log): the other instances'
    /// followers read `event_deleted` from its log.
    public func dropEvent(eventID: String) async throws {
        _ = try await run(RedisHotScripts.drop, eventID, ["drop", "-"])
    }

    /// Event ids with hot state, sorted (deterministic sweep order).
    func knownEvents() async throws -> [String] {
        try await mapErrors { try await client.send("SMEMBERS", Self.eventsKey) }.array?.compactMap(\.string).sorted() ?? []
    }

    func int(_ values: [RESPValue], _ index: Int) throws -> Int64 {
        guard index < values.count, let value = values[index].int else { throw unexpected(values) }
        return value
    }

    private func seats(_ values: [RESPValue], _ index: Int) -> [String] {
        guard index < values.count, let list = values[index].string else { return [] }
        return list.split(separator: ",").map(String.init)
    }

    private func strings(_ values: ArraySlice<RESPValue>) -> [String] { values.compactMap(\.string) }

    private func unexpected(_ values: [RESPValue]) -> HotStoreError { .unavailable("unexpected reply from Redis: \(values)") }
}
