import Synchronization

/// A Lua script run with `EVALSHA`: loaded once with `SCRIPT LOAD`, reloaded when Redis answers
/// `NOSCRIPT` (after a restart or `SCRIPT FLUSH`).
public final class RedisScript: Sendable {
    public let source: String
    private let sha = Mutex<String?>(nil)

    public init(_ source: String) { self.source = source }

    /// Runs the script with `keys` and `arguments` on `client`. With `bound`, the first argument
    /// goes out as `<argument>@<run id>` of the Redis process that runs it
    /// (``RedisConnection/serverRunID``; unchanged when unknown), so the script can tell state
    /// built on another process. Throws ``RedisError``.
    public func run(on client: RedisClient, keys: [String], arguments: [String], bound: Bool = false) async throws -> RESPValue {
        let loaded = try await loadedSHA(client, reload: false)
        do {
            return try await evalsha(loaded, client, keys, arguments, bound)
        } catch RedisError.server(let message) where message.hasPrefix("NOSCRIPT") {
            return try await evalsha(try await loadedSHA(client, reload: true), client, keys, arguments, bound)
        }
    }

    private func loadedSHA(_ client: RedisClient, reload: Bool) async throws -> String {
        if !reload, let known = sha.withLock({ $0 }) { return known }
        guard let loaded = try await client.send("SCRIPT", "LOAD", source).string else {
            throw RedisError.protocolError("SCRIPT LOAD returned no digest")
        }
        sha.withLock { $0 = loaded }
        return loaded
    }

    private func evalsha(_ sha: String, _ client: RedisClient, _ keys: [String], _ arguments: [String], _ bound: Bool) async throws -> RESPValue {
        try await client.send(boundToServer: { runID in
            var arguments = arguments
            if bound, !runID.isEmpty, !arguments.isEmpty { arguments[0] += "@" + runID }
            return (["EVALSHA", sha, String(keys.count)] + keys + arguments).map { Array($0.utf8) }
        })
    }
}
