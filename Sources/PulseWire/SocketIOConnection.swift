import Foundation
import HummingbirdWSClient
import Logging
import Synchronization

/// A Socket.IO v4 client over one WebSocket (Engine.IO v4 framing, the `websocket` transport
/// only), for testing seed-style servers (`pulse conform --profile socketio`). It connects to the
/// default namespace with `auth` in the CONNECT packet, answers the server's pings, emits events
/// and keeps every event received. Tested against python-socketio, a maintained implementation of
/// the same protocol.
///
/// Engine.IO packets are text frames whose first character is the type: `0` open, `1` close,
/// `2` ping, `3` pong, `4` message. A Socket.IO packet rides in a message: `0` CONNECT, `1`
/// DISCONNECT, `2` EVENT (`42["name",payload]`), `4` CONNECT_ERROR.
public final class SocketIOConnection: Sendable {
    /// One event the server emitted.
    public struct Event: @unchecked Sendable {
        public var name: String
        /// The first argument (usually an object).
        public var payload: Any?
        /// When it arrived (wall clock, nanoseconds since 1970).
        public var receivedAtNs: Int64 = Int64(Date().timeIntervalSince1970 * 1_000_000_000)
        public var object: [String: Any] { payload as? [String: Any] ?? [:] }
    }

    private struct State {
        var events: [Event] = []
        var connected = false
        var connectError: String?
        var closed = false
        var failure: String?
    }
    private final class Shared: Sendable { let state = Mutex(State()) }
    private let shared = Shared()
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<Void, Never>

    /// Connects to the server at `baseURL` (`http://host:port`) with `auth` (the seed expects
    /// `{"token": "Bearer <jwt>"}`).
    public init(baseURL: String, auth: [String: Any]) {
        let url =
            baseURL.replacingOccurrences(of: "https://", with: "wss://").replacingOccurrences(of: "http://", with: "ws://")
            + "/socket.io/?EIO=4&transport=websocket"
        let (stream, continuation) = AsyncStream<String>.makeStream()
        outgoing = continuation
        let connect = "40" + (String(data: (try? JSONSerialization.data(withJSONObject: auth)) ?? Data("{}".utf8), encoding: .utf8) ?? "{}")
        let shared = shared
        task = Task {
            var logger = Logger(label: "pulse.socket-io")
            logger.logLevel = .critical
            do {
                try await WebSocketClient.connect(url: url, logger: logger) { inbound, outbound, _ in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            for await text in stream { try await outbound.write(.text(text)) }
                            try? await outbound.write(.text("41"))
                            try? await outbound.close(.normalClosure, reason: nil)
                        }
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            guard case .text(let text) = message, let kind = text.first else { continue }
                            switch kind {
                            case "0": try await outbound.write(.text(connect))  // Engine.IO open: join the default namespace
                            case "2": try await outbound.write(.text("3"))  // ping -> pong
                            case "1": group.cancelAll()
                            case "4": Self.handle(String(text.dropFirst()), shared)
                            default: continue
                            }
                        }
                        group.cancelAll()
                    }
                }
            } catch {
                shared.state.withLock { $0.failure = "\(error)" }
            }
            shared.state.withLock { $0.closed = true }
        }
    }

    /// A Socket.IO packet (the Engine.IO message's payload).
    private static func handle(_ packet: String, _ shared: Shared) {
        guard let kind = packet.first else { return }
        let body = packet.dropFirst().drop { $0 != "[" && $0 != "{" }
        let json = try? JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
        shared.state.withLock { state in
            switch kind {
            case "0": state.connected = true
            case "4": state.connectError = ((json as? [String: Any])?["message"] as? String) ?? String(body)
            case "1": state.closed = true
            case "2":
                guard let list = json as? [Any], let name = list.first as? String else { return }
                state.events.append(Event(name: name, payload: list.count > 1 ? list[1] : nil))
            default: return
            }
        }
    }

    /// Emits `event` with `payload` (any JSON value).
    public func emit(_ event: String, _ payload: Any) {
        guard let data = try? JSONSerialization.data(withJSONObject: [event, payload], options: [.fragmentsAllowed]) else { return }
        outgoing.yield("42" + String(decoding: data, as: UTF8.self))
    }

    /// Disconnects (a Socket.IO DISCONNECT, then the WebSocket close).
    public func close() { outgoing.finish() }

    public var events: [Event] { shared.state.withLock { $0.events } }
    public var connected: Bool { shared.state.withLock { $0.connected } }
    /// The server's CONNECT_ERROR message, if it refused the connection.
    public var connectError: String? { shared.state.withLock { $0.connectError } }
    public var closed: Bool { shared.state.withLock { $0.closed } }

    /// Waits until the namespace is joined; throws ``APIError`` with the server's connect error.
    public func waitConnected(seconds: Double = 20) async throws {
        try await poll(
            seconds: seconds,
            {
                if let error = connectError { throw APIError("connect_error: \(error)") }
                return connected ? () : nil
            }, gaveUp: { closed }
        ) {
            APIError("not connected within \(seconds) s\(shared.state.withLock { $0.failure }.map { ": \($0)" } ?? "")")
        }
    }

    /// Waits for the first event after the first `after` for which `match` holds.
    public func next(after: Int = 0, seconds: Double = 20, _ what: String, where match: @escaping (Event) -> Bool) async throws -> Event {
        try await poll(seconds: seconds, { events.dropFirst(after).first(where: match) }, gaveUp: { closed }) {
            APIError("\(what): not seen within \(seconds) s; received \(events.suffix(5).map(\.name))")
        }
    }

    deinit {
        outgoing.finish()
        task.cancel()
    }
}
