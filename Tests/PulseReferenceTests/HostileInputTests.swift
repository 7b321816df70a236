import Foundation
import Hummingbird
import HummingbirdTesting
import PulseProtocol
import Testing

@testable import PulseEngine
@testable import PulseReference

/// Hostile input on every route that reads a body, and holds that belong to someone else on every
/// route that takes a hold id: each is a documented 4xx, nothing crashes, nothing leaks.
@Suite("HTTP: hostile input")
struct HostileInputTests {
    /// Bodies no client should send: nesting far past any parser's depth and a body past the limit
    /// (always refused), numbers past any range, strings near the body limit and lone surrogates
    /// (refused, or ignored where the route reads no such field: never a 5xx).
    static let bombs: [(what: String, body: String, alwaysRefused: Bool)] = [
        ("deep arrays", "{\"seatIds\":" + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "}", true),
        ("deep objects", String(repeating: "{\"a\":", count: 2_000) + "1" + String(repeating: "}", count: 2_000), true),
        ("huge numbers", #"{"seatIds":["A1"],"seconds":1e999999,"totalAmount":-1e999999,"price":123456789012345678901234567890}"#, false),
        (
            "a long string",
            "{\"name\":\"" + String(repeating: "x", count: 9_000) + "\",\"title\":\"t\",\"seatIds\":[\"" + String(repeating: "A", count: 500)
                + "\"]}", false
        ),
        ("a lone surrogate", #"{"name":"\ud800","email":"\udfff@x.io","password":"\ud800\ud800\ud800","seatIds":["\ud800"]}"#, false),
        ("past the body limit", "{\"name\":\"" + String(repeating: "y", count: 20_000) + "\"}", true),
    ]

    @Test("every body-reading route answers every bomb with a 4xx error envelope (or ignores what it does not read), never a 5xx, and keeps serving")
    func bombs() async throws {
        let test = try await TestServer.make(authAttempts: 1_000)
        try await test.application().test(.router) { client in
            let admin = try await client.adminToken()
            let event = try await client.createEvent(admin: admin)
            let (user, _) = try await client.signup("Mallory")
            let hold = try await client.hold(event, ["A1"], token: user).object("hold")["id"] as? String ?? ""
            let routes: [(HTTPRequest.Method, String, String?)] = [
                (.post, "/api/v1/users/signup", nil), (.post, "/api/v1/users/login", nil), (.post, "/api/v1/events", admin),
                (.patch, "/api/v1/events/\(event)", admin), (.post, "/api/v1/events/\(event)/holds", user),
                (.post, "/api/v1/events/\(event)/holds/\(hold)/extend", user), (.post, "/api/v1/events/\(event)/seats", user),
            ]
            for (method, path, token) in routes {
                for (what, body, alwaysRefused) in Self.bombs {
                    let reply = try await client.call(method, path, token: token, raw: body)
                    let refused = (400..<500).contains(reply.status.code) && reply.code != nil && reply.json["status"] as? String == "fail"
                    let accepted = (200..<300).contains(reply.status.code) && reply.json["status"] as? String == "success"
                    #expect(refused || (!alwaysRefused && accepted), "\(method) \(path) with \(what): \(reply.status) \(reply.json)")
                }
            }
            #expect(try await client.call(.get, "/healthz").status == .ok)
            #expect(try await client.call(.get, "/api/v1/events/\(event)/seats").status == .ok)
        }
    }

    @Test("another user's hold id is no hold of the caller's on every hold route (404 hold_not_found), and the hold stays its owner's")
    func othersHolds() async throws {
        let test = try await TestServer.make()
        try await test.application().test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (owner, _) = try await client.signup("Olive")
            let (other, _) = try await client.signup("Eve")
            let hold = try #require(try await client.hold(event, ["A1"], token: owner).object("hold")["id"] as? String)
            let release = try await client.call(.delete, "/api/v1/events/\(event)/holds/\(hold)", token: other)
            #expect(release.status == .notFound && release.code == "hold_not_found")
            let extend = try await client.call(.post, "/api/v1/events/\(event)/holds/\(hold)/extend", token: other, json: [:])
            #expect(extend.status == .notFound && extend.code == "hold_not_found")
            let checkout = try await client.call(.post, "/api/v1/events/\(event)/seats", token: other, json: ["seatIds": ["A1"], "holdId": hold])
            #expect(checkout.status.code == 404 || checkout.status.code == 409, "\(checkout.status) \(checkout.json)")
            #expect(checkout.code == "hold_not_found" || checkout.code == "hold_required", "\(checkout.json)")
            let listed = try await client.call(.get, "/api/v1/events/\(event)/holds", token: other)
            #expect(listed.status == .ok && !String(describing: listed.json).contains(hold), "another user's hold id is never shown")
            // Untouched: the owner still has it and can book it.
            let booked = try await client.call(.post, "/api/v1/events/\(event)/seats", token: owner, json: ["seatIds": ["A1"], "holdId": hold])
            #expect(booked.status == .created, "\(booked.json)")
        }
    }
}
