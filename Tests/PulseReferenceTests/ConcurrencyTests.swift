import Hummingbird
import HummingbirdTesting
import Testing

@testable import PulseReference

@Suite("Concurrency over real connections", .timeLimit(.minutes(10)))
struct ConcurrencyTests {
    @Test("many clients hold the same seat at once: exactly one wins, every other gets 409 seat_unavailable")
    func sameSeatOneWinner() async throws {
        let server = try await TestServer.make(authAttempts: 1_000)
        try await server.application().test(.ahc(.http)) { client in
            let event = try await client.createEvent(admin: try await client.adminToken())
            var tokens: [String] = []
            for index in 0..<100 { tokens.append(try await client.signup("User\(index)").token) }
            let replies = try await withThrowingTaskGroup(of: JSONReply.self) { group in
                for token in tokens { group.addTask { try await client.hold(event, ["B2"], token: token) } }
                return try await group.reduce(into: [JSONReply]()) { $0.append($1) }
            }
            #expect(replies.filter { $0.status == .created }.count == 1)
            #expect(replies.filter { $0.status == .conflict && $0.code == "seat_unavailable" }.count == 99)
        }
    }

    @Test("overlapping multi-seat holds raced at once never share a seat")
    func overlappingHoldsNeverShare() async throws {
        let server = try await TestServer.make(authAttempts: 1_000)
        try await server.application().test(.ahc(.http)) { client in
            let event = try await client.createEvent(admin: try await client.adminToken(), rows: 1, cols: 8)
            var tokens: [String] = []
            for index in 0..<16 { tokens.append(try await client.signup("User\(index)").token) }
            let replies = try await withThrowingTaskGroup(of: JSONReply.self) { group in
                for (index, token) in tokens.enumerated() {
                    let start = index % 6 + 1
                    group.addTask { try await client.hold(event, ["A\(start)", "A\(start + 1)", "A\(start + 2)"], token: token) }
                }
                return try await group.reduce(into: [JSONReply]()) { $0.append($1) }
            }
            let granted = replies.filter { $0.status == .created }.flatMap { $0.object("hold")["seatIds"] as? [String] ?? [] }
            #expect(!granted.isEmpty)
            #expect(Set(granted).count == granted.count, "a seat was granted twice: \(granted)")
            #expect(replies.allSatisfy { $0.status == .created || $0.code == "seat_unavailable" })
        }
    }
}
