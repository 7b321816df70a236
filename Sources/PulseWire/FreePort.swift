import NIOCore
import NIOPosix

/// Finds a free TCP port on 127.0.0.1 by binding port 0 and closing again. Another process may
/// take the port before it is used; callers that start servers retry on a bind failure.
public func freeLoopbackPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    guard port > 0 else { throw APIError("could not find a free port") }
    return port
}
