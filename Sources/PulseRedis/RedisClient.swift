import NIOCore
import NIOPosix
import Synchronization

/// A pool of pipelined Redis connections with reconnection. Commands are spread round-robin over
/// ``RedisConfiguration/connectionCount`` connections; a broken connection is replaced on the next
/// command, after a backoff that doubles per consecutive failure (so a Redis that is down is not
/// hammered, and every command in the meantime fails fast with ``RedisError/unavailable``).
public final class RedisClient: Sendable {
    public let configuration: RedisConfiguration
    private let slots: [ConnectionSlot]
    private let cursor = Atomic<Int>(0)

    public init(_ configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        precondition(configuration.connectionCount > 0, "a Redis pool needs at least one connection")
        self.configuration = configuration
        slots = (0..<configuration.connectionCount).map { _ in ConnectionSlot(configuration: configuration, eventLoop: eventLoopGroup.next()) }
    }

    /// Sends one command (name first) on the next pooled connection and returns its reply.
    /// Throws ``RedisError/server`` for an error reply, ``RedisError/timeout`` and
    /// ``RedisError/unavailable`` when the outcome is unknown.
    @discardableResult
    public func send(_ arguments: [[UInt8]]) async throws -> RESPValue {
        try await send(boundToServer: { _ in arguments })
    }

    /// Sends the command `build` makes for the connection it goes out on, given that connection's
    /// server run id (``RedisConnection/serverRunID``), so that a command can be bound to the
    /// Redis process that runs it.
    @discardableResult
    public func send(boundToServer build: (_ serverRunID: String) -> [[UInt8]]) async throws -> RESPValue {
        let slot = slots[cursor.add(1, ordering: .relaxed).newValue % slots.count]
        let connection = try await slot.connection().get()
        let reply = try await connection.send(build(connection.serverRunID), timeout: configuration.commandTimeout)
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Sends a command given as text arguments.
    @discardableResult
    public func send(_ arguments: String...) async throws -> RESPValue {
        try await send(arguments.map { Array($0.utf8) })
    }

    /// A connection of its own, outside the pool, for blocking commands such as `XREAD BLOCK`.
    /// The caller closes it.
    public func dedicatedConnection() async throws -> RedisConnection {
        try await RedisConnection.connect(configuration, on: slots[0].eventLoop).get()
    }

    /// Closes every pooled connection.
    public func close() async {
        for slot in slots { await slot.close() }
    }
}

/// One pooled connection: connected, being connected, or waiting out a backoff.
final class ConnectionSlot: Sendable {
    private enum State {
        case idle(failures: Int, retryAt: NIODeadline)
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
    }

    let configuration: RedisConfiguration
    let eventLoop: any EventLoop
    private let state = Mutex<State>(.idle(failures: 0, retryAt: .uptimeNanoseconds(0)))

    init(configuration: RedisConfiguration, eventLoop: any EventLoop) {
        self.configuration = configuration
        self.eventLoop = eventLoop
    }

    /// The open connection, a connection attempt in progress, or a fast failure during a backoff.
    func connection() -> EventLoopFuture<RedisConnection> {
        let (future, failures) = state.withLock { state -> (EventLoopFuture<RedisConnection>, Int?) in
            var failures = 0
            switch state {
            case .connected(let connection) where connection.isOpen:
                return (eventLoop.makeSucceededFuture(connection), nil)
            case .connected:
                failures = 0
            case .connecting(let future):
                return (future, nil)
            case .idle(let previous, let retryAt):
                guard NIODeadline.now() >= retryAt else {
                    return (
                        eventLoop.makeFailedFuture(
                            RedisError.unavailable("reconnecting to \(configuration.host):\(configuration.port) after \(previous) failures")), nil
                    )
                }
                failures = previous
            }
            let attempt = RedisConnection.connect(configuration, on: eventLoop)
            state = .connecting(attempt)
            return (attempt, failures)
        }
        // Registered outside the lock: the callback may run at once and takes the lock itself.
        if let failures { future.whenComplete { [self] result in settle(result, failures: failures) } }
        return future
    }

    private func settle(_ result: Result<RedisConnection, any Error>, failures: Int) {
        state.withLock { state in
            switch result {
            case .success(let connection):
                state = .connected(connection)
            case .failure:
                let backoff = min(
                    configuration.reconnectBackoffMax.nanoseconds,
                    configuration.reconnectBackoffInitial.nanoseconds << min(failures, 20))
                state = .idle(failures: failures + 1, retryAt: .now() + .nanoseconds(backoff))
            }
        }
    }

    func close() async {
        let connection = state.withLock { state -> RedisConnection? in
            defer { state = .idle(failures: 0, retryAt: .uptimeNanoseconds(0)) }
            if case .connected(let connection) = state { return connection }
            return nil
        }
        await connection?.close()
    }
}
