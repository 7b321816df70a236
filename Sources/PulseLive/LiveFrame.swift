import NIOCore

/// One encoded live message (its JSON text as UTF-8), made once and shared by every subscriber
/// it goes to: a transport writes these same bytes to each connection, never a copy per connection
/// (a 1,300-seat snapshot is about 100 kB; a join storm sends one to thousands of clients).
public struct LiveFrame: Sendable {
    /// The UTF-8 JSON text. Never mutated once made, so sharing it is free.
    public let bytes: ByteBuffer

    public init(bytes: ByteBuffer) { self.bytes = bytes }

    /// The message as text (the simulator and tests read it so).
    public var text: String { String(buffer: bytes) }
}
