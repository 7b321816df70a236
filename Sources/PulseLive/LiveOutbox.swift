import PulseEngine
import Synchronization

/// The bounded outgoing queue of one live connection: encoded messages (shared frames) in the order
/// they were queued. When a slow client lets it fill up, the outbox closes rather than drop a
/// message silently (a gap would break PB-LIVE-5); the connection then ends with `slow_consumer`.
public final class LiveOutbox: LiveSink {
    /// The messages, for the connection's writer.
    public let messages: AsyncStream<LiveFrame>
    private let continuation: AsyncStream<LiveFrame>.Continuation
    private let overflow = Atomic<Bool>(false)

    /// - Parameter capacity: most messages queued and not yet written.
    public init(capacity: Int) {
        (messages, continuation) = AsyncStream.makeStream(of: LiveFrame.self, bufferingPolicy: .bufferingOldest(capacity))
    }

    /// Queues a message; false when the outbox had to close because it was full (or was closed).
    @discardableResult
    public func send(_ frame: LiveFrame) -> Bool {
        switch continuation.yield(frame) {
        case .enqueued: return true
        case .dropped:
            overflow.store(true, ordering: .relaxed)
            continuation.finish()
            return false
        case .terminated: return false
        @unknown default: return false
        }
    }

    /// Whether the outbox closed because the client read too slowly.
    public var overflowed: Bool { overflow.load(ordering: .relaxed) }

    /// Ends the message stream.
    public func close() { continuation.finish() }
}
