import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A WebSocket client that stops reading, to see what a server does with a slow consumer
/// (PB-LIVE-10). A plain blocking socket with a fixed receive buffer (set before connecting, so the
/// kernel does not grow it), so the bytes this end can hold are known: it does the upgrade, sends
/// text frames, and reads only when asked to drain. The WebSocket clients of the libraries read on
/// their own, which is what a slow-consumer check must not do.
///
/// The buffer is not tiny on purpose: a window below the link's segment size makes a sender wait
/// for its zero-window probes, whose backoff can outlast a reader's patience (seen on Linux over
/// loopback, MSS 64 KiB, with a 4 KiB buffer: the stream stalled for seconds mid-drain).
public final class StalledWebSocket: @unchecked Sendable {
    private let descriptor: Int32
    /// Bytes read but not yet parsed into a whole frame.
    private var pending: [UInt8] = []
    /// The receive buffer the kernel gave this socket (Linux doubles what was asked for).
    public let receiveBufferBytes: Int

    /// Connects to `127.0.0.1`-style `host:port`, upgrades `path` (with its query) and returns
    /// once the server answered 101. Throws ``APIError`` otherwise.
    public init(host: String, port: Int, path: String, receiveBufferBytes asked: Int32 = 128 * 1024) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw APIError("socket() failed") }
        var size = asked
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var given: Int32 = 0
        var givenLength = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &given, &givenLength)
        receiveBufferBytes = Int(given)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            close(descriptor)
            throw APIError("not an IPv4 address: \(host)")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw APIError("cannot connect to \(host):\(port)")
        }
        try write(
            Array("GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n".utf8)
                + Array("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        var head: [UInt8] = []
        while !head.ends(with: [13, 10, 13, 10]) {
            var byte: UInt8 = 0
            guard recv(descriptor, &byte, 1, 0) == 1 else {
                close(descriptor)
                throw APIError("the upgrade was not answered")
            }
            head.append(byte)
        }
        guard String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101") else {
            close(descriptor)
            throw APIError("the upgrade was refused: \(String(decoding: head.prefix(40), as: UTF8.self))")
        }
    }

    deinit { close(descriptor) }

    /// Sends `text` as one masked text frame (clients must mask, RFC 6455 §5.3).
    public func send(_ text: String) throws {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65_536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default:
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8((payload.count >> ($0 * 8)) & 0xff) }
        }
        let mask: [UInt8] = [0x5a, 0x17, 0xc3, 0x2e]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try write(frame)
    }

    /// What reading everything the server sent showed: each text frame's `type` and `seq` (when
    /// it was a JSON object with them), the bytes read, and how the stream ended.
    public struct Drained: Sendable {
        /// One text frame: its `type` (nil when not a JSON object with one), `seq` (if any), and
        /// the bytes it took on the wire.
        public struct Frame: Sendable, Equatable {
            public var type: String?
            public var seq: Int?
            public var bytes: Int
            public init(type: String?, seq: Int?, bytes: Int) {
                self.type = type
                self.seq = seq
                self.bytes = bytes
            }
        }
        public var frames: [Frame] = []
        public var bytes = 0
        public var closeCode: Int?
        public var closeReason: String?
        /// True when the server closed the TCP stream (or it failed) without a close frame; false
        /// when the drain stopped after `seconds` without a byte, or at the close frame.
        public var endOfStream = false
        public var textFrames: Int { frames.count }
        public init() {}
    }

    /// Reads until the server's close frame, the end of the stream, or `seconds` without a byte.
    /// Called again, it goes on where the last call stopped (a frame cut by the pause included).
    public func drain(seconds: Int = 10) -> Drained {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var drained = Drained()
        var buffer = pending
        defer { pending = buffer }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            // Parse the complete frames buffered so far, then drop them at once.
            var start = 0
            while let (opcode, payload, length) = Self.frame(in: buffer[start...]) {
                start += length
                if opcode == 0x1 { drained.frames.append(Self.described(payload, bytes: length)) }
                if opcode == 0x8 {
                    drained.closeCode = payload.count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : nil
                    drained.closeReason = String(decoding: payload.dropFirst(2), as: UTF8.self)
                    return drained
                }
            }
            buffer.removeFirst(start)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count == 0 || count < 0 && errno != EAGAIN && errno != EWOULDBLOCK { drained.endOfStream = true }
            guard count > 0 else { return drained }
            drained.bytes += count
            buffer += chunk[0..<count]
        }
    }

    /// A text frame's `type` and `seq`.
    private static func described(_ payload: [UInt8], bytes: Int) -> Drained.Frame {
        let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any]
        return Drained.Frame(type: object?["type"] as? String, seq: (object?["seq"] as? NSNumber)?.intValue, bytes: bytes)
    }

    /// The first complete (unmasked, server) frame of `bytes`: opcode, payload, bytes it takes.
    private static func frame(in bytes: ArraySlice<UInt8>) -> (UInt8, [UInt8], Int)? {
        let base = bytes.startIndex
        guard bytes.count >= 2 else { return nil }
        var length = Int(bytes[base + 1] & 0x7f)
        var offset = 2
        if length == 126 {
            guard bytes.count >= 4 else { return nil }
            length = Int(bytes[base + 2]) << 8 | Int(bytes[base + 3])
            offset = 4
        } else if length == 127 {
            guard bytes.count >= 10 else { return nil }
            length = (2..<10).reduce(0) { $0 << 8 | Int(bytes[base + $1]) }
            offset = 10
        }
        guard bytes.count >= offset + length else { return nil }
        return (bytes[base] & 0x0f, Array(bytes[(base + offset)..<(base + offset + length)]), offset + length)
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            #if canImport(Glibc)
                let written = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            #else
                let written = bytes[sent...].withUnsafeBytes { Darwin.send(descriptor, $0.baseAddress, $0.count, 0) }
            #endif
            guard written > 0 else { throw APIError("the connection closed while sending") }
            sent += written
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
