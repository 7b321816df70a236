import Foundation
import HummingbirdWSClient
import Logging
import PulseProtocol
import Synchronization

@testable import PulseReference

/// What one test WebSocket client received, readable while it is still connected.
final class LiveTranscript: Sendable {
    private let messages = Mutex<[LiveServerMessage]>([])

    func append(_ message: LiveServerMessage) { messages.withLock { $0.append(message) } }
    var all: [LiveServerMessage] { messages.withLock { $0 } }

    /// The numbered changes received, in arrival order.
    var changes: [SeatChange] {
        all.compactMap { if case .change(let change) = $0 { change } else { nil } }
    }

    /// Waits (up to `seconds` of real time) until `condition` holds for the transcript.
    func wait(seconds: Double = 10, until condition: ([LiveServerMessage]) -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while !condition(all) {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out; transcript: \(all)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Runs a live client: sends `script` messages (raw text) as they come from the stream, records
/// everything received, and disconnects when `script` finishes.
func runLiveClient(port: Int, token: String, transcript: LiveTranscript, script: AsyncStream<String>) async throws {
    var logger = Logger(label: "live-client")
    logger.logLevel = .warning
    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/v1/live?token=\(token)", logger: logger) { inbound, outbound, _ in
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    guard case .text(let text) = message else { continue }
                    transcript.append(try JSONDecoder().decode(LiveServerMessage.self, from: Data(text.utf8)))
                }
            }
            for await text in script { try await outbound.write(.text(text)) }
            try await outbound.close(.normalClosure, reason: nil)
            group.cancelAll()
        }
    }
}

/// A scripted live client running in a task group; `send` feeds its script, `finish` disconnects.
struct ScriptedLiveClient {
    let transcript = LiveTranscript()
    let script: AsyncStream<String>
    let input: AsyncStream<String>.Continuation

    init() { (script, input) = AsyncStream.makeStream(of: String.self) }

    func send(_ message: LiveClientMessage) {
        input.yield(String(decoding: try! JSONEncoder().encode(message), as: UTF8.self))
    }
    func sendRaw(_ text: String) { input.yield(text) }
    func finish() { input.finish() }
}
