import Foundation
import NIOCore

/// Where and how to reach Redis: parsed from a
/// `redis://[user[:password]@]host[:port][/database][?command_timeout=S&connect_timeout=S]` URL,
/// plus pool size and reconnect backoff.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int = 6379
    /// ACL user name (Redis 6+); nil authenticates as the default user.
    public var username: String?
    public var password: String?
    /// Logical database selected on every connection.
    public var database: Int = 0
    /// Connections in the command pool; commands are spread over them and pipelined on each.
    public var connectionCount: Int = 4
    /// How long a command may wait for its reply before it fails with ``RedisError/timeout``.
    public var commandTimeout: TimeAmount = .seconds(2)
    /// How long establishing a connection (TCP, AUTH, SELECT) may take.
    public var connectTimeout: TimeAmount = .seconds(1)
    /// Reconnect backoff: the first wait after a failure, doubled per failure up to the maximum.
    public var reconnectBackoffInitial: TimeAmount = .milliseconds(50)
    public var reconnectBackoffMax: TimeAmount = .seconds(2)

    public init(host: String, port: Int = 6379) {
        self.host = host
        self.port = port
    }

    /// Parses a `redis://` URL. Throws ``RedisError/invalidURL``. `rediss://` (TLS) is refused:
    /// hiredis 0.14 has no TLS, and Pulse's NIO transport does not offer it yet. The query may
    /// set `command_timeout` and `connect_timeout`, in seconds (decimals allowed, 0.001 to 3600),
    /// for a Redis that may answer late (a busy host, a distant network); any other parameter is
    /// refused, so a misspelt one is not silently ignored.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw RedisError.invalidURL("'\(url)' is not a URL")
        }
        guard scheme == "redis" else {
            if scheme == "rediss" { throw RedisError.invalidURL("rediss:// (TLS) is not supported yet; use redis:// on a trusted network") }
            throw RedisError.invalidURL("the scheme must be redis://, not \(scheme)://")
        }
        guard let host = components.host, !host.isEmpty else { throw RedisError.invalidURL("'\(url)' names no host") }
        self.init(host: host)
        if let port = components.port {
            guard (1...65535).contains(port) else { throw RedisError.invalidURL("port \(port) is out of range") }
            self.port = port
        }
        if let user = components.user, !user.isEmpty { username = user }
        if let password = components.password { self.password = password }
        let path = components.path.drop { $0 == "/" }
        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else { throw RedisError.invalidURL("the path must be a database number, not '\(path)'") }
            self.database = database
        }
        for item in components.queryItems ?? [] {
            guard let value = item.value.flatMap(Double.init), value.isFinite, (0.001...3600).contains(value) else {
                throw RedisError.invalidURL("\(item.name) must be a number of seconds from 0.001 to 3600, not '\(item.value ?? "")'")
            }
            let amount = TimeAmount.nanoseconds(Int64((value * 1e9).rounded()))
            switch item.name {
            case "command_timeout": commandTimeout = amount
            case "connect_timeout": connectTimeout = amount
            default: throw RedisError.invalidURL("unknown parameter '\(item.name)' (known: command_timeout, connect_timeout)")
            }
        }
    }
}
