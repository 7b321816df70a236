import NIOCore
import NIOPosix
import Synchronization

/// A Redis Cluster client: a ``RedisClient`` pool per master, each command sent to the master of
/// its slot (``ClusterKeySlot``), pipelined per node. The slot map comes from `CLUSTER SHARDS` of
/// a seed node or a known master, and is refreshed on each `MOVED` and when a master cannot be
/// reached. Redirections: `MOVED` updates the map and retries at once; `ASK` sends `ASKING` and
/// the command, in that order, on a connection of their own to the node named, and leaves the map
/// as it is; `TRYAGAIN` and `CLUSTERDOWN` are retried with a doubling backoff. Past the bounds
/// the command fails with ``RedisError/unavailable``, as when a single Redis is down.
public final class RedisClusterClient: Sendable {
    /// The template of every node's configuration: credentials, timeouts, pool size.
    public let configuration: RedisConfiguration
    /// Where to ask for the slot map when no master is known or none answers.
    public let seeds: [(host: String, port: Int)]
    /// Redirections followed for one command before it fails.
    public static let redirectionsMax = 5
    /// Retries of a `TRYAGAIN` or `CLUSTERDOWN` before the command fails, and the first backoff.
    public static let busyRetriesMax = 6
    public static let busyBackoffInitial: Duration = .milliseconds(25)

    private let eventLoopGroup: any EventLoopGroup
    private let state = Mutex<(map: ClusterSlotMap?, pools: [String: RedisClient])>((nil, [:]))

    public init(
        seeds: [(host: String, port: Int)], configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        precondition(!seeds.isEmpty, "a cluster client needs a node to ask")
        self.seeds = seeds
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
    }

    /// The slot map in use; nil before the first ``refresh()``.
    public var slotMap: ClusterSlotMap? { state.withLock { $0.map } }

    /// Reads the slot map from the known masters, then the seeds, the first that answers.
    /// Throws ``RedisError/unavailable`` when none does (each one's failure named).
    public func refresh() async throws {
        let known = state.withLock { $0.map?.masters.map { (host: $0.host, port: $0.port) } ?? [] }
        var failures: [String] = []
        for node in known + seeds {
            do {
                let map = try ClusterSlotMap(shards: try await pool(node.host, node.port).send("CLUSTER", "SHARDS"))
                guard !map.masters.isEmpty else {
                    failures.append("\(node.host):\(node.port) serves no slot")
                    continue
                }
                state.withLock { $0.map = map }
                return
            } catch {
                failures.append("\(node.host):\(node.port): \(error)")
            }
        }
        throw RedisError.unavailable("no cluster node gave its slot map (\(failures.joined(separator: "; ")))")
    }

    /// Sends one command (name first) to the master of `slot` (the slot of every key it names:
    /// the caller's to ensure) and returns its reply. Throws ``RedisError/server`` for an error
    /// reply that is not a redirection, ``RedisError/timeout`` and ``RedisError/unavailable`` as
    /// ``RedisClient`` does (outcome unknown), and ``RedisError/unavailable`` past the bounds on
    /// redirections and busy retries.
    @discardableResult
    public func send(slot: Int, _ arguments: [[UInt8]]) async throws -> RESPValue {
        precondition((0..<ClusterKeySlot.count).contains(slot), "slot \(slot) is out of range")
        var redirections = 0
        var busy = 0
        var asked: ClusterRedirect?
        var lastHost = seeds[0].host
        while true {
            do {
                if let ask = asked {
                    return try await sendAsking(ask, arguments)
                }
                if slotMap == nil { try await refresh() }
                guard let master = slotMap?.master(ofSlot: slot) else {
                    throw RedisError.server("CLUSTERDOWN Hash slot not served")
                }
                lastHost = master.host
                do {
                    return try await pool(master.host, master.port).send(arguments)
                } catch let error as RedisError where error.outcomeUnknown {
                    // The master may have failed over: the next command asks the cluster again.
                    try? await refresh()
                    throw error
                }
            } catch RedisError.server(let message) {
                if let redirect = ClusterRedirect(message) {
                    redirections += 1
                    guard redirections <= Self.redirectionsMax else {
                        throw RedisError.unavailable("slot \(slot): more than \(Self.redirectionsMax) redirections (last: \(message))")
                    }
                    // A node that does not know its own address names none: the one asked.
                    var target = redirect
                    if target.host.isEmpty { target.host = lastHost }
                    if target.kind == .moved {
                        state.withLock { $0.map?.apply(target) }
                        asked = nil
                        Task { try? await self.refresh() }
                    } else {
                        asked = target
                    }
                    continue
                }
                guard message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") else { throw RedisError.server(message) }
                busy += 1
                guard busy <= Self.busyRetriesMax else { throw RedisError.unavailable("slot \(slot): \(message)") }
                asked = nil
                try? await Task.sleep(for: Self.busyBackoffInitial * (1 << (busy - 1)))
                if message.hasPrefix("CLUSTERDOWN") { try? await refresh() }
            }
        }
    }

    /// Sends a command given as text arguments to the master of `slot`.
    @discardableResult
    public func send(slot: Int, _ arguments: String...) async throws -> RESPValue {
        try await send(slot: slot, arguments.map { Array($0.utf8) })
    }

    /// Closes every node's pool.
    public func close() async {
        let pools = state.withLock { state in
            defer { state.pools = [:] }
            return Array(state.pools.values)
        }
        for pool in pools { await pool.close() }
    }

    /// `ASKING` and the command, in that order, on a connection of their own (on a shared one
    /// another command could come between them and take the `ASKING`).
    private func sendAsking(_ redirect: ClusterRedirect, _ arguments: [[UInt8]]) async throws -> RESPValue {
        var node = configuration
        node.host = redirect.host
        node.port = redirect.port
        let connection = try await RedisConnection.connect(node, on: eventLoopGroup.next()).get()
        let asking = connection.sendFuture([Array("ASKING".utf8)], timeout: configuration.commandTimeout)
        let command = connection.sendFuture(arguments, timeout: configuration.commandTimeout)
        let reply: RESPValue
        do {
            if case .error(let message) = try await asking.get() { throw RedisError.server(message) }
            reply = try await command.get()
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// The pool of the node at `host:port`, made on first use.
    private func pool(_ host: String, _ port: Int) -> RedisClient {
        state.withLock { state in
            if let pool = state.pools["\(host):\(port)"] { return pool }
            var node = configuration
            node.host = host
            node.port = port
            let pool = RedisClient(node, eventLoopGroup: eventLoopGroup)
            state.pools["\(host):\(port)"] = pool
            return pool
        }
    }
}
