import Foundation
import PulseLive
import PulseProtocol
import Synchronization

/// A simulated browser's end of a live connection: the hub queues encoded messages here (it is
/// the hub's ``LiveSink``), and the subscriber takes them when it next runs, as a socket's
/// receive buffer holds them until the client reads. Closing it ends the connection.
final class SimInbox: LiveSink {
    private let state = Mutex<(messages: [LiveFrame], closed: Bool)>(([], false))

    func send(_ frame: LiveFrame) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.messages.append(frame)
            return true
        }
    }

    /// Every message queued since the last take, decoded (the hub only sends what it encoded itself).
    func take() -> [LiveServerMessage] {
        let frames = state.withLock { state in
            defer { state.messages.removeAll(keepingCapacity: true) }
            return state.messages
        }
        let decoder = JSONDecoder()
        return frames.compactMap { try? decoder.decode(LiveServerMessage.self, from: Data($0.bytes.readableBytesView)) }
    }

    func close() { state.withLock { $0.closed = true } }
}
