import Foundation
import Glibc
import Synchronization

/// Ports this process has handed out already, and where the next search starts.
private let handedOut = Mutex<(ports: Set<Int>, cursor: Int)>(([], Int(getpid()) &* 7_919))

/// Finds a free TCP port on 127.0.0.1 for a server this process starts: never one it handed out
/// before, and outside the kernel's ephemeral range (`ip_local_port_range`). A port inside that
/// range may become, between this check and the server's own bind, the source port of any
/// outgoing connection on the host (a busy test run opens thousands a second), and the server
/// then fails with "address already in use"; a port outside it is only ever taken by a bind.
/// Another process may still bind the port first. Throws when no port is free.
public func freeLoopbackPort() async throws -> Int {
    // A host whose ephemeral range covers every port from 10,000 up: any port from 1,024 then.
    let outside = portsOutsideEphemeralRange()
    let ranges = outside.isEmpty ? [1_024...65_535] : outside
    let count = ranges.reduce(0) { $0 + $1.count }
    return try handedOut.withLock { state in
        for _ in 0..<min(count, 4_096) {
            state.cursor = (state.cursor &+ 1) & Int(Int32.max)
            var index = state.cursor % count
            let range = ranges.first { range in
                if index < range.count { return true }
                index -= range.count
                return false
            }
            guard let port = range.map({ $0.lowerBound + index }), !state.ports.contains(port), canBindLoopback(port: port) else { continue }
            state.ports.insert(port)
            return port
        }
        throw APIError("could not find a free port on 127.0.0.1")
    }
}

/// The kernel's ephemeral port range (the ports `connect` and `bind(0)` choose from); Linux's
/// default when it cannot be read.
func ephemeralPortRange() -> ClosedRange<Int> {
    let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
    let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32_768...60_999 }
    return bounds[0]...bounds[1]
}

/// The ports from 10,000 up that the kernel never picks on its own (none on a host whose
/// ephemeral range covers them all).
func portsOutsideEphemeralRange() -> [ClosedRange<Int>] {
    let ephemeral = ephemeralPortRange()
    var ranges: [ClosedRange<Int>] = []
    if ephemeral.lowerBound > 10_000 { ranges.append(10_000...(ephemeral.lowerBound - 1)) }
    if ephemeral.upperBound < 65_535 { ranges.append(max(10_000, ephemeral.upperBound + 1)...65_535) }
    return ranges
}

/// Whether a socket can bind 127.0.0.1:`port` now (without `SO_REUSEADDR`: stricter than a
/// server's own bind, so a port in `TIME_WAIT` is passed over too).
private func canBindLoopback(port: Int) -> Bool {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard socket >= 0 else { return false }
    defer { close(socket) }
    return withSocketAddress("127.0.0.1", port: port) { bind(socket, $0, $1) == 0 } ?? false
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func loopbackAcceptsConnections(port: Int) -> Bool {
    withLoopbackConnection(port: port) { _ in true } ?? false
}

/// Runs `body` with a socket connected to 127.0.0.1:`port`, closed after; nil when none connects.
func withLoopbackConnection<T>(port: Int, _ body: (Int32) -> T) -> T? { withTCPConnection(address: "127.0.0.1", port: port, body) }

/// Runs `body` with a socket connected to `address:port` (IPv4), closed after; nil when none
/// connects (within `connectTimeout`, when given) or `address` is not an IPv4 address.
public func withTCPConnection<T>(address: String, port: Int, connectTimeout: Duration? = nil, _ body: (Int32) -> T) -> T? {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { return nil }
    defer { close(socket) }
    if let connectTimeout {
        // A connect waits at most the send timeout.
        let (seconds, attoseconds) = connectTimeout.components
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
    guard withSocketAddress(address, port: port, { connect(socket, $0, $1) == 0 }) == true else { return nil }
    return body(socket)
}

/// `body` with `address:port` as a `sockaddr` and its length; nil when `address` is not IPv4.
private func withSocketAddress<T>(_ address: String, port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T? {
    var target = sockaddr_in()
    target.sin_family = sa_family_t(AF_INET)
    target.sin_port = in_port_t(UInt16(port).bigEndian)
    guard inet_pton(AF_INET, address, &target.sin_addr) == 1 else { return nil }
    return withUnsafePointer(to: &target) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}
