import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// One WebSocket connection to a live endpoint (the Pulse live protocol, PB-LIVE), over
/// hummingbird-websocket's client: sends JSON or raw text frames, keeps every message received
/// (parsed as a JSON object when it is one) and how the connection closed.
public final class LiveConnection: Sendable {
    /// One message received: its text and, when it is a JSON object, the object.
    public struct Message: @unchecked Sendable {
        public var text: String
        public var json: [String: Any]?
        /// When it arrived: wall-clock nanoseconds since 1970 (wire-mode histories use wall time).
        public var receivedAtNs: Int64 = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        public var type: String? { json?["type"] as? String }
        public var seq: Int64? { (json?["seq"] as? NSNumber)?.int64Value }
        public func string(_ key: String) -> String? { json?[key] as? String }
    }

    private struct State {
        var messages: [Message] = []
        var closed = false
        var closeCode: Int?
        var closeReason: String?
        var failure: String?
    }
    private final class Shared: Sendable { let state = Mutex(State()) }
    private let shared = Shared()
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<Void, Never>

    /// Connects to `url` (`ws://host:port/api/v1/live?token=...`), with `headers` on the upgrade.
    /// Does not wait for the upgrade: see ``waitUntil(seconds:_:_:)`` and ``closed``. With a
    /// `heartbeat` it pings the server each period and closes when a pong is missing by the next
    /// (a crashed, restarted, paused or cut-off server): a browser's heartbeat.
    public init(url: String, headers: [(String, String)] = [], heartbeat: Duration? = nil) {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        outgoing = continuation
        let shared = shared
        task = Task {
            var logger = Logger(label: "pulse.live-connection")
            logger.logLevel = .critical
            var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
            if let heartbeat { configuration.autoPing = .enabled(timePeriod: heartbeat) }
            for (name, value) in headers { if let field = HTTPField.Name(name) { configuration.additionalHeaders[field] = value } }
            do {
                let closeFrame = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in stream { try await outbound.write(.text(text)) }
                            try? await outbound.close(.normalClosure, reason: nil)
                        }
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            guard case .text(let text) = message else { continue }
                            let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
                            shared.state.withLock { $0.messages.append(Message(text: text, json: json)) }
                        }
                        group.cancelAll()
                    }
                }
                shared.state.withLock {
                    $0.closeCode = closeFrame.map { Int(UInt16(webSocketErrorCode: $0.closeCode)) }
                    $0.closeReason = closeFrame?.reason
                }
            } catch {
                shared.state.withLock { $0.failure = "\(error)" }
            }
            shared.state.withLock { $0.closed = true }
        }
    }

    /// Sends a JSON object as one text frame.
    public func send(_ object: [String: Any]) {
        guard let data = try? JSONSerialization.data(withJSONObject: object) else { return }
        outgoing.yield(String(decoding: data, as: UTF8.self))
    }

    /// Sends raw text as one frame (malformed-message cases).
    public func send(text: String) { outgoing.yield(text) }

    /// Closes the connection (normal closure).
    public func close() { outgoing.finish() }

    /// Every message received so far.
    public var messages: [Message] { shared.state.withLock { $0.messages } }
    /// Whether the connection has ended, its close code and reason if the server sent a close frame,
    /// and why it failed if it did (for example a refused upgrade).
    public var closed: Bool { shared.state.withLock { $0.closed } }
    public var closeCode: Int? { shared.state.withLock { $0.closeCode } }
    public var closeReason: String? { shared.state.withLock { $0.closeReason } }
    public var failure: String? { shared.state.withLock { $0.failure } }

    /// Waits up to `seconds` until `condition` holds of the messages; throws ``APIError`` naming
    /// `what` and the messages seen when it does not.
    @discardableResult
    public func waitUntil(seconds: Double = 20, _ what: String, _ condition: ([Message]) -> Bool) async throws -> [Message] {
        try await poll(
            seconds: seconds,
            {
                let seen = messages
                return condition(seen) ? seen : nil
            }, gaveUp: { closed }
        ) {
            APIError(
                "\(what): not seen within \(seconds) s\(closed ? " (connection closed\(failure.map { ": \($0)" } ?? ""))" : ""); received \(messages.suffix(5).map(\.text))"
            )
        }
    }

    /// Waits for the first message after the first `after` messages for which `match` holds.
    public func next(after: Int = 0, seconds: Double = 20, _ what: String, where match: @escaping (Message) -> Bool) async throws -> Message {
        let seen = try await waitUntil(seconds: seconds, what) { $0.dropFirst(after).contains(where: match) }
        return seen.dropFirst(after).first(where: match)!
    }

    /// The live URL of a server's `baseURL` (`http://` becomes `ws://`).
    public static func url(baseURL: String, token: String?) -> String {
        let ws = baseURL.replacingOccurrences(of: "https://", with: "wss://").replacingOccurrences(of: "http://", with: "ws://")
        return ws + "/api/v1/live" + (token.map { "?token=\($0)" } ?? "")
    }

    deinit {
        outgoing.finish()
        task.cancel()
    }
}
