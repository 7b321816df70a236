import AsyncHTTPClient
import Foundation
import PulseProtocol
import PulseReference
import PulseWire

/// Measures hold requests through HTTP: `concurrency` clients, each its own user, each sending
/// `POST /events/:id/holds` for one random seat of many large events, one request at a time,
/// for a fixed time. Grants and conflicts both count: each is one full hold step in the hot store.
public struct HoldsBenchmark: Sendable {
    /// The figures of one run.
    public struct Result: Sendable {
        public var concurrency: Int
        public var requests: Int
        public var requestsPerSecond: Double
        public var latency: LatencySummary
        public var granted: Int
        public var conflicts: Int
    }

    let api: PulseAPIClient
    let events: [String]
    let tokens: [String]
    let rows: Int
    let cols: Int

    /// Creates `eventCount` events of `rows` × `cols` seats and `users` users on the target.
    public static func prepare(
        api: PulseAPIClient, adminEmail: String, adminPassword: String, eventCount: Int, users: Int,
        rows: Int = 26, cols: Int = 50
    ) async throws -> HoldsBenchmark {
        let admin = try await api.login(email: adminEmail, password: adminPassword)
        var events: [String] = []
        for index in 0..<eventCount {
            events.append(try await api.createEvent(adminToken: admin, title: "Holds \(index)", rows: rows, cols: cols, price: 1))
        }
        var tokens: [String] = []
        let tag = events[0].suffix(8)
        for index in 0..<users {
            tokens.append(
                try await api.signup(name: "Bench \(index)", email: "bench-\(tag)-\(index)@bench.invalid", password: "bench-password").token)
        }
        return HoldsBenchmark(api: api, events: events, tokens: tokens, rows: rows, cols: cols)
    }

    /// Runs `concurrency` clients for `seconds`. Throws ``APIError`` if a request fails outright
    /// or answers anything but 201 or 409.
    public func run(concurrency: Int, seconds: Double) async throws -> Result {
        precondition(concurrency <= tokens.count, "more clients than prepared users")
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        let perClient = try await withThrowingTaskGroup(of: (latencies: [UInt64], granted: Int, conflicts: Int).self) { group in
            for client in 0..<concurrency {
                group.addTask {
                    var dice = SeededRandom(seed: UInt64(concurrency) << 32 | UInt64(client))
                    var latencies: [UInt64] = []
                    var granted = 0
                    var conflicts = 0
                    while ContinuousClock.now < end {
                        let event = events[Int(dice.next() % UInt64(events.count))]
                        let seat = SeatGrid.label(row: dice.below(rows), col: 1 + dice.below(cols))
                        let sent = ContinuousClock.now
                        let reply = try await api.call(.POST, "/api/v1/events/\(event)/holds", token: tokens[client], json: ["seatIds": [seat]])
                        latencies.append(UInt64((ContinuousClock.now - sent).nanoseconds))
                        switch reply.status {
                        case 201: granted += 1
                        case 409: conflicts += 1
                        default: throw APIError("hold answered \(reply.status) \(reply.json)")
                        }
                    }
                    return (latencies, granted, conflicts)
                }
            }
            return try await group.reduce(into: [(latencies: [UInt64], granted: Int, conflicts: Int)]()) { $0.append($1) }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        let latencies = perClient.flatMap(\.latencies)
        return Result(
            concurrency: concurrency, requests: latencies.count, requestsPerSecond: Double(latencies.count) / elapsed,
            latency: LatencySummary(nanoseconds: latencies), granted: perClient.reduce(0) { $0 + $1.granted },
            conflicts: perClient.reduce(0) { $0 + $1.conflicts })
    }
}
