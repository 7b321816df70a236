import Foundation
import Hummingbird
import HummingbirdTesting
import PulseProtocol
import Testing

@testable import PulseEngine
@testable import PulseReference

/// PB-LIMIT-4: per-user limits on holds, checkouts and live messages (the server's clock is
/// manual: buckets refill only when a test moves it).
@Suite("HTTP and live: per-user rate limits")
struct RateLimitTests {
    static let limits: UserRateLimits = {
        var limits = UserRateLimits()
        limits.holds = .init(perSecond: 1, burst: 3)
        limits.checkouts = .init(perSecond: 0.5, burst: 2)
        limits.liveMessages = .init(perSecond: 1, burst: 5)
        return limits
    }()

    @Test("holds and checkouts past a user's burst get 429 rate_limited with Retry-After, other users are untouched, and time refills")
    func restLimits() async throws {
        let server = try await TestServer.make(heldSeatsPerUserMax: 20, userRateLimits: Self.limits)
        try await server.application().test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken(), rows: 4, cols: 10)
            let (ada, _) = try await client.signup("Ada")
            let (bob, _) = try await client.signup("Bob")
            for seat in ["A1", "A2", "A3"] { #expect(try await client.hold(event, [seat], token: ada).status == .created) }
            let refused = try await client.hold(event, ["A4"], token: ada)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.code == "rate_limited")
            #expect(refused.headers[.retryAfter] == "1")
            #expect(try await client.hold(event, ["B1"], token: bob).status == .created, "Bob has a bucket of his own")
            let map = try await client.call(.get, "/api/v1/events/\(event)/seats")
            let locked = (map.data["seats"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "locked" }.compactMap {
                $0["id"] as? String
            }
            #expect(Set(locked) == ["A1", "A2", "A3", "B1"], "the refused hold took nothing")
            server.clock.advance(byMs: 1_000)
            #expect(try await client.hold(event, ["A4"], token: ada).status == .created, "a second gave one token back")

            for (index, seats) in [["A1"], ["A2"]].enumerated() {
                let booked = try await client.call(
                    .post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": seats, "totalAmount": 10],
                    headers: [.init("Idempotency-Key")!: "k\(index)"])
                #expect(booked.status == .created)
            }
            let third = try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A3"], "totalAmount": 10])
            #expect(third.status == .tooManyRequests && third.code == "rate_limited")
            #expect(third.headers[.retryAfter] == "2", "half a token a second: two seconds to the next")
            server.clock.advance(byMs: 2_000)
            #expect(
                try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A3"], "totalAmount": 10]).status
                    == .created)
        }
    }

    @Test(
        "live: a request_lock past the hold limit gets lock_failed rate_limited; any frame past the message limit gets error rate_limited; the connection stays"
    )
    func liveLimits() async throws {
        let server = try await TestServer.make(userRateLimits: Self.limits)
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            let live = ScriptedLiveClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runLiveClient(port: port, token: ada, transcript: live.transcript, script: live.script) }
                defer { live.finish() }
                live.send(.joinEvent(eventId: event, sinceSeq: nil))  // message 1
                for seat in ["A1", "A2", "A3", "A4"] { live.send(.requestLock(eventId: event, seatId: seat)) }  // messages 2...5, holds 1...4
                live.sendRaw("not json")  // message 6: over the message limit
                try await live.transcript.wait { $0.count >= 1 + 3 + 3 + 1 + 1 }  // snapshot, 3 seat_locked, 3 lock_acquired, 1 lock_failed, 1 error
                let messages = live.transcript.all
                let failed = messages.compactMap { if case .lockFailed(_, let seat, let code, _) = $0 { (seat, code) } else { nil } }
                #expect(failed.count == 1 && failed.first?.0 == "A4" && failed.first?.1 == .rateLimited, "\(messages)")
                let errors = messages.compactMap { if case .error(let code, _) = $0 { code } else { nil } }
                #expect(errors == [.rateLimited], "the malformed frame past the limit is refused as such, not parsed: \(messages)")
                #expect(live.transcript.changes.count == 3)
                server.clock.advance(byMs: 2_000)
                live.send(.requestLock(eventId: event, seatId: "A4"))
                try await live.transcript.wait { $0.contains { if case .lockAcquired(_, "A4", _) = $0 { true } else { false } } }
            }
        }
    }
}
