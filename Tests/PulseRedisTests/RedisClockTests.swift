import Foundation
import PulseEngine
import PulseWire
import Testing

@testable import PulseRedis

/// Several server instances share one Redis, each with its own clock. Holds expire, and checkout
/// leases run out, on Redis's clock: an instance whose clock was stepped ahead must not expire
/// the others' holds early (nor one stepped back keep them late).
@Suite("Redis hot store: one clock for every instance", .timeLimit(.minutes(2)))
struct RedisClockTests {
    static let event = "aaaaaaaaaaaaaaaaaaaaaaa9"

    /// This host's clock in milliseconds (the clock Redis reads: it runs here).
    static func hostMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Two instances on one Redis: `a` grants a 60 s hold; `b`, whose clock is `skewMs` ahead,
    /// sweeps. Returns how many seats `b`'s sweep expired, and the hold's expiry as granted.
    static func sweepAhead(clock: RedisHotStore.Clock, skewMs: Int64) async throws -> (expired: Int, expiresAtMs: Int64) {
        let server = try await RedisServerProcess()
        defer { server.stop() }
        let recovery = HotStateRecovery(nextGeneration: { 1 }, bookedSeats: { _ in [:] })
        let clientA = RedisClient(try RedisWorld.configuration(server))
        let clientB = RedisClient(try RedisWorld.configuration(server))
        let a = RedisHotStore(client: clientA, recovery: recovery, clock: clock)
        let b = RedisHotStore(client: clientB, recovery: recovery, clock: clock)
        let granted = try await a.hold(
            eventID: event, seatIDs: ["A1"], userID: "u1", holdID: String(repeating: "1", count: 32), nowMs: hostMs(), ttlMs: 60_000,
            heldSeatsPerUserMax: 4)
        guard case .granted(let hold) = granted else { throw RedisError.protocolError("not granted: \(granted)") }
        let expired = try await b.expireDue(nowMs: hostMs() + skewMs)
        await clientA.close()
        await clientB.close()
        return (expired, hold.expiresAtMs)
    }

    @Test("on Redis's clock, an instance 2 minutes ahead expires nothing of a 60 s hold, which expires 60 s after Redis granted it")
    func redisClock() async throws {
        let before = Self.hostMs()
        let (expired, expiresAtMs) = try await Self.sweepAhead(clock: .redis, skewMs: 120_000)
        #expect(expired == 0)
        #expect(expiresAtMs >= before + 60_000 && expiresAtMs <= Self.hostMs() + 60_000, "Redis's time plus the TTL")
    }

    @Test("on each caller's clock (the defect the Redis clock prevents), the instance ahead expires the hold at once")
    func callerClock() async throws {
        let (expired, _) = try await Self.sweepAhead(clock: .caller, skewMs: 120_000)
        #expect(expired == 1)
    }
}
