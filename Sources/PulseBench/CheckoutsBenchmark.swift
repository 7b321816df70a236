import Foundation
import PulseProtocol
import PulseWire

/// Measures checkouts through HTTP, the durable store's hot path: `concurrency` clients, each its
/// own user, each holding one random seat of many large events and then checking it out, one
/// request at a time, for a fixed time. A hold refused because the seat was taken is tried again
/// with another seat and not counted; the latency is the checkout request's alone.
public struct CheckoutsBenchmark: Sendable {
    /// The figures of one run.
    public struct Result: Sendable {
        public var concurrency: Int
        public var checkouts: Int
        public var checkoutsPerSecond: Double
        public var latency: LatencySummary
    }

    /// The target, its events and users (prepared as for the holds benchmark).
    let target: HoldsBenchmark

    /// Creates `eventCount` events of `rows` × `cols` seats and `users` users on the target.
    public static func prepare(
        api: PulseAPIClient, adminEmail: String, adminPassword: String, eventCount: Int, users: Int,
        rows: Int = 26, cols: Int = 50
    ) async throws -> CheckoutsBenchmark {
        CheckoutsBenchmark(
            target: try await HoldsBenchmark.prepare(
                api: api, adminEmail: adminEmail, adminPassword: adminPassword,
                eventCount: eventCount, users: users, rows: rows, cols: cols))
    }

    /// Runs `concurrency` clients for `seconds`. Throws ``APIError`` if a request fails outright or
    /// a checkout of a held seat answers anything but 201.
    public func run(concurrency: Int, seconds: Double) async throws -> Result {
        let (api, events, tokens, rows, cols) = (target.api, target.events, target.tokens, target.rows, target.cols)
        precondition(concurrency <= tokens.count, "more clients than prepared users")
        let start = ContinuousClock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for client in 0..<concurrency {
                group.addTask {
                    var dice = SeededRandom(seed: UInt64(concurrency) << 40 | UInt64(client) << 8 | 0xC0)
                    var latencies: [UInt64] = []
                    while ContinuousClock.now < end {
                        let event = events[dice.below(events.count)]
                        let seat = SeatGrid.label(row: dice.below(rows), col: 1 + dice.below(cols))
                        let hold = try await api.call(.POST, "/api/v1/events/\(event)/holds", token: tokens[client], json: ["seatIds": [seat]])
                        guard hold.status == 201 else {
                            if hold.status == 409 { continue }
                            throw APIError("hold answered \(hold.status) \(hold.json)")
                        }
                        let sent = ContinuousClock.now
                        let checkout = try await api.call(.POST, "/api/v1/events/\(event)/seats", token: tokens[client], json: ["seatIds": [seat]])
                        guard checkout.status == 201 else { throw APIError("checkout answered \(checkout.status) \(checkout.json)") }
                        latencies.append(UInt64((ContinuousClock.now - sent).nanoseconds))
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [UInt64]()) { $0 += $1 }
        }
        let elapsed = (ContinuousClock.now - start).seconds
        return Result(
            concurrency: concurrency, checkouts: latencies.count, checkoutsPerSecond: Double(latencies.count) / elapsed,
            latency: LatencySummary(nanoseconds: latencies))
    }
}
