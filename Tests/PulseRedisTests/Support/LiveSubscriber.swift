import Foundation
import PulseWire

/// A WebSocket subscriber of one event on one server (``PulseWire/LiveConnection`` joined to the
/// event), read as seat changes and snapshot seqs; stays connected until ``stop()``.
final class LiveSubscriber: Sendable {
    private let connection: LiveConnection

    init(baseURL: String, token: String, eventID: String) {
        connection = LiveConnection(url: LiveConnection.url(baseURL: baseURL, token: token))
        connection.send(["type": "join_event", "eventId": eventID])
    }

    /// The numbered seat changes received, as (seq, type, seat or seats).
    var changes: [Change] {
        connection.messages.compactMap { message in
            guard let type = message.type, ["seat_locked", "seat_released", "seats_booked"].contains(type), let seq = message.seq else { return nil }
            let seats = message.string("seatId").map { [$0] } ?? message.json?["seatIds"] as? [String] ?? []
            return Change(seq: seq, type: type, seats: seats, reason: message.string("reason"))
        }
    }

    /// The seqs of the snapshots received, in order.
    var snapshotSeqs: [Int64] { connection.messages.filter { $0.type == "snapshot" }.compactMap(\.seq) }

    struct Change: Equatable, CustomStringConvertible {
        var seq: Int64
        var type: String
        var seats: [String]
        var reason: String?
        var description: String { "\(seq) \(type) \(seats)\(reason.map { " \($0)" } ?? "")" }
    }

    /// Waits (up to `seconds`) until `condition` holds.
    func wait(seconds: Double = 15, _ what: String, until condition: (LiveSubscriber) -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition(self) {
            guard ContinuousClock.now < deadline else {
                throw APIError("timed out waiting until \(what); received \(connection.messages.count) messages")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func stop() async {
        connection.close()
        _ = try? await connection.waitUntil(seconds: 5, "the close") { [connection] _ in connection.closed }
    }
}
