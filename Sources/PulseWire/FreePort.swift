import Foundation
import Glibc
import NIOCore
import NIOPosix
import Synchronization

/// Ports this process has handed out already: the kernel may give a port that was just closed
/// to the next `bind(0)`, and two servers started by one test run must not race for one port.
private let handedOut = Mutex<Set<Int>>([])

/// Finds a free TCP port on 127.0.0.1 by binding port 0 and closing again, never one this process
/// handed out before. Another process may still take the port before it is used.
public func freeLoopbackPort() async throws -> Int {
    for _ in 0..<64 {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        guard port > 0 else { throw APIError("could not find a free port") }
        if handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
    throw APIError("could not find a port not handed out before")
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
public func loopbackAcceptsConnections(port: Int) -> Bool {
    withLoopbackConnection(port: port) { _ in true } ?? false
}

/// Runs `body` with a socket connected to 127.0.0.1:`port`, closed after; nil when none connects.
func withLoopbackConnection<T>(port: Int, _ body: (Int32) -> T) -> T? {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { return nil }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
    return connected ? body(socket) : nil
}
