import Foundation
import HummingbirdWSClient
import Logging
import PulseWire
import Synchronization

/// A WebSocket subscriber of one event on one server: joins, records every message as JSON, and
/// stays connected until ``stop()``.
final class LiveSubscriber: Sendable {
    private final class Received: Sendable {
        let messages = Mutex<[[String: any Sendable]]>([])
    }
    private let received = Received()
    private let stopSignal = AsyncStream<Void>.makeStream()
    private let task: Task<Void, any Error>

    init(baseURL: String, token: String, eventID: String) {
        let url = baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/api/v1/live?token=\(token)"
        let received = received
        let stopStream = stopSignal.stream
        task = Task {
            var logger = Logger(label: "subscriber")
            logger.logLevel = .critical
            try await WebSocketClient.connect(url: url, logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"type":"join_event","eventId":"\#(eventID)"}"#))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in stopStream {}
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        guard case .text(let text) = message,
                              let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { continue }
                        received.messages.withLock { $0.append(object.mapValues { LiveSubscriber.sendable($0) }) }
                    }
                    group.cancelAll()
                }
            }
        }
    }

    private static func sendable(_ value: Any) -> any Sendable {
        switch value {
        case let number as NSNumber: number.int64Value
        case let text as String: text
        case let list as [Any]: list.map { sendable($0) }
        default: "\(value)"
        }
    }

    var messages: [[String: any Sendable]] { received.messages.withLock { $0 } }

    /// The numbered seat changes received, as (seq, type, seat or seats).
    var changes: [Change] {
        messages.compactMap { message in
            guard let type = message["type"] as? String, ["seat_locked", "seat_released", "seats_booked"].contains(type),
                  let seq = message["seq"] as? Int64 else { return nil }
            let seats = (message["seatId"] as? String).map { [$0] } ?? (message["seatIds"] as? [any Sendable])?.compactMap { $0 as? String } ?? []
            return Change(seq: seq, type: type, seats: seats, reason: message["reason"] as? String)
        }
    }

    /// The seqs of the snapshots received, in order.
    var snapshotSeqs: [Int64] { messages.filter { $0["type"] as? String == "snapshot" }.compactMap { $0["seq"] as? Int64 } }

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
            guard ContinuousClock.now < deadline else { throw APIError("timed out waiting until \(what); received \(messages.count) messages") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func stop() async {
        stopSignal.continuation.finish()
        _ = try? await task.value
    }
}
