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

extension Process {
    /// Whether this process holds the socket listening on 127.0.0.1:`port` (Linux: /proc/net/tcp
    /// names the listener's inode, /proc/PID/fd the process's sockets). A server started on a
    /// port another process took exits, but a check that only connects would meet the other one.
    public func listens(onLoopbackPort port: Int) -> Bool {
        guard isRunning, let table = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return false }
        let local = String(format: "0100007F:%04X", port)
        // Columns: sl local_address rem_address st ... inode (the 10th); 0A is LISTEN.
        let inodes = table.split(separator: "\n").dropFirst().compactMap { line -> String? in
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            return columns.count > 9 && columns[1] == local && columns[3] == "0A" ? String(columns[9]) : nil
        }
        guard !inodes.isEmpty else { return false }
        let directory = "/proc/\(processIdentifier)/fd"
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return descriptors.contains { descriptor in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\(descriptor)") else { return false }
            return inodes.contains { target == "socket:[\($0)]" }
        }
    }
}
