import Foundation
import Hummingbird
import HummingbirdTesting
@testable import PulseEngine
import PulseProtocol
import PulseRedis
@testable import PulseReference
import Testing

/// The hold path's caches (events in the engine, users in the accounts) never act on a stale
/// record: every test changes the record through another instance, which shares only the stores.
@Suite("Caches cannot serve stale state", .timeLimit(.minutes(10)))
struct CacheTests {
    /// A second engine on the fixture's stores: another server instance sharing its hot and
    /// durable state (a second Redis connection on Redis).
    static func otherInstance(_ f: EngineFixture) throws -> BookingEngine {
        let hot: any HotStore
        switch f.kind {
        case .memory, .mongo:
            hot = f.hot
        case .redis:
            let durable = f.durable
            let recovery = HotStateRecovery(nextGeneration: { try await durable.nextHotGeneration() },
                                            bookedSeats: { try await durable.bookedSeats(eventID: $0) })
            hot = RedisHotStore(client: RedisClient(try EngineFixture.redisConfiguration(f.redis!)), recovery: recovery)
        }
        return BookingEngine(configuration: f.engine.configuration, hot: hot, durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 99))
    }

    /// A behaviour test's Redis steps wait for a busy machine: another instance's first step opens
    /// its connections, and a Redis that answers late meanwhile (paused here, as a loaded machine
    /// delays it) delays the step, never fails it with 503 `store_unavailable`.
    @Test("another instance's first Redis step, while Redis answers late, is delayed, never refused")
    func lateRedisDelaysSteps() async throws {
        let f = try await EngineFixture.make(store: .redis)
        defer { f.redis?.stop() }
        let other = try Self.otherInstance(f)
        f.redis!.pause()
        let held = Task { try await other.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice) }
        try await Task.sleep(for: .milliseconds(1_500))
        f.redis!.resume()
        let hold = try await held.value
        #expect(hold.seatIDs == ["A1"])
    }

    @Test("an event closed, reopened or deleted through another instance is held on its current state at once",
          arguments: StoreKind.allCases)
    func eventChangedElsewhere(kind: StoreKind) async throws {
        let f = try await EngineFixture.make(store: kind)
        defer { f.redis?.stop() }
        let other = try Self.otherInstance(f)
        _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice)

        _ = try await other.updateEvent(f.eventID, UpdateEventRequest(isActive: false))
        #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice) }?.code == .eventInactive)
        #expect(try await f.engine.seatMap(f.eventID).seats.filter { $0.status == .locked }.map(\.id) == ["A1"])

        _ = try await other.updateEvent(f.eventID, UpdateEventRequest(isActive: true))
        _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice)

        try await other.deleteEvent(f.eventID)
        #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A3"], userID: EngineFixture.alice) }?.code == .eventNotFound)
        #expect(try await f.hot.snapshot(eventID: f.eventID, nowMs: f.clock.nowMs()).lockedBy.isEmpty)
    }

    @Test("a hold with a stale stamp is refused inside the hot step and holds nothing; a rebuilt hot state has a new stamp",
          arguments: StoreKind.allCases)
    func staleStampRefused(kind: StoreKind) async throws {
        let f = try await EngineFixture.make(store: kind)
        defer { f.redis?.stop() }
        let before = try await f.hot.eventStamp(eventID: f.eventID)
        try await f.hot.touchEvent(eventID: f.eventID)
        let after = try await f.hot.eventStamp(eventID: f.eventID)
        #expect(after != before)
        let stale = try await f.hot.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice, holdID: "h1", nowMs: f.clock.nowMs(),
                                         ttlMs: 1000, heldSeatsPerUserMax: 10, eventStamp: before)
        #expect(stale == .staleEvent(stamp: after))
        #expect(try await f.hot.snapshot(eventID: f.eventID, nowMs: f.clock.nowMs()).lockedBy.isEmpty)
        let current = try await f.hot.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice, holdID: "h2", nowMs: f.clock.nowMs(),
                                           ttlMs: 1000, heldSeatsPerUserMax: 10, eventStamp: after)
        guard case .granted = current else { Issue.record("a current stamp was refused: \(current)"); return }

        let rebuilt = try await f.freshHot(knowsBookedSeats: true)
        let rebuiltStamp = try await rebuilt.eventStamp(eventID: f.eventID)
        #expect(rebuiltStamp != before && rebuiltStamp != after)
    }

    @Test("a cached event lapses within its maximum age when the change's touch never happened", arguments: StoreKind.allCases)
    func lostTouchLapses(kind: StoreKind) async throws {
        let f = try await EngineFixture.make(store: kind)
        defer { f.redis?.stop() }
        _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice)
        var closed = try #require(try await f.durable.event(id: f.eventID))
        closed.isActive = false
        try await f.durable.updateEvent(closed)   // as if the hot store went down before the touch
        f.clock.advance(byMs: 1_001)   // the promised bound: a second (not EventCache.maxAgeMs, which a defect could raise)
        #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice) }?.code == .eventInactive)
    }

    @Test("a cached event closes for holds and checkouts the moment its date comes (PB-EVENT-8)", arguments: StoreKind.allCases)
    func pastEventCloses(kind: StoreKind) async throws {
        let f = try await EngineFixture.make(store: kind)
        defer { f.redis?.stop() }
        let starts = try #require(ISOTime.parse("2027-01-01"))
        f.clock.set(toMs: starts - 1)
        _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice)   // cached now
        f.clock.set(toMs: starts)
        #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice) }?.code == .eventInactive)
        #expect(await pulseError { try await f.checkout(["A1"], user: EngineFixture.alice) }?.code == .eventInactive)
        #expect(try await f.engine.seatMap(f.eventID).seats.first { $0.id == "A1" }?.status == .locked)
    }

    @Test("a user promoted to admin elsewhere is an admin at once, though this server cached the user")
    func promotionCountsAtOnce() async throws {
        let test = try await TestServer.make()
        try await test.application().test(.router) { client in
            let (token, _) = try await client.signup("Grace")
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).object("user")["role"] as? String == "user")
            let body: [String: Any] = ["title": "T", "venue": "V", "date": "2027-01-01", "venueConfig": ["rows": 1, "cols": 1, "price": 1]]
            #expect(try await client.call(.post, "/api/v1/events", token: token, json: body).status == .forbidden)
            // `pulse admin create` from another process: straight into the durable store.
            _ = try await AccountService.ensureAdmin(email: "grace@example.com", password: "new-password", name: "Grace",
                                                     durable: test.engine.durable, hasher: PasswordHasher(cost: 4),
                                                     ids: SeededIdentifierSource(seed: 5), clock: test.clock)
            #expect(try await client.call(.post, "/api/v1/events", token: token, json: body).status == .created)
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).object("user")["role"] as? String == "admin")
        }
    }

    @Test("a token verified once is still refused once it expires, and its tampered copies are never taken for it")
    func verifiedTokens() async throws {
        let test = try await TestServer.make()
        try await test.application().test(.router) { client in
            let (token, _) = try await client.signup("Hedy")
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).status == .ok)
            var tampered = Array(token)
            tampered[tampered.count - 2] = tampered[tampered.count - 2] == "A" ? "B" : "A"
            #expect(try await client.call(.get, "/api/v1/users/me", token: String(tampered)).code == "invalid_token")
            #expect(try await client.call(.get, "/api/v1/users/me", token: token + "x").code == "invalid_token")
            test.clock.advance(byMs: 86_400_000)   // the default lifetime: expired at this very millisecond
            #expect(try await client.call(.get, "/api/v1/users/me", token: token).code == "token_expired")
        }
    }
}
