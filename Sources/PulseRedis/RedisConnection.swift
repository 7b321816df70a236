import NIOCore
import NIOPosix
import Synchronization

/// One TCP connection to Redis on a SwiftNIO channel. Commands are pipelined: any number may be in
/// flight, and `send` suspends its task (never a thread) until the reply. Commands sent while the
/// event loop has not yet written earlier ones go out with them in one write. After a timeout or an
/// I/O error the connection closes and every later command fails; ``RedisClient`` reconnects.
public final class RedisConnection: Sendable {
    let channel: any Channel
    private let runID = Mutex<String>("")
    /// Commands not yet handed to the channel, in send order, and whether a drain is scheduled.
    private let outgoing = Mutex<(nextID: UInt64, queued: [RedisRequest], drainScheduled: Bool)>((0, [], false))

    init(channel: any Channel) { self.channel = channel }

    /// The `run_id` of the Redis process at the other end (read from `INFO server` on connecting;
    /// empty when the server does not say). A restarted Redis, or a replica promoted after a
    /// failover, has a new one, and it cannot change under an open connection.
    public var serverRunID: String { runID.withLock { $0 } }

    /// Whether the connection can still carry commands.
    public var isOpen: Bool { channel.isActive }

    /// Opens a connection, authenticates and selects the database of `configuration`.
    /// Throws ``RedisError/unavailable`` or the server's refusal as ``RedisError/server``.
    public static func connect(_ configuration: RedisConfiguration, on eventLoop: any EventLoop) -> EventLoopFuture<RedisConnection> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(RedisChannelHandler()) }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMapError { error in
                eventLoop.makeFailedFuture(RedisError.unavailable("cannot connect to \(configuration.host):\(configuration.port): \(error)"))
            }
            .flatMap { channel in
                let connection = RedisConnection(channel: channel)
                var setup: [[String]] = []
                if let password = configuration.password {
                    setup.append(configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
                }
                if configuration.database != 0 { setup.append(["SELECT", String(configuration.database)]) }
                let replies = setup.map { connection.sendFuture($0.map { Array($0.utf8) }, timeout: configuration.connectTimeout) }
                return EventLoopFuture.whenAllSucceed(replies, on: eventLoop).flatMapThrowing { replies in
                    if let refusal = replies.compactMap({ if case .error(let message) = $0 { message } else { nil } }).first {
                        channel.close(promise: nil)
                        throw RedisError.server(refusal)
                    }
                    return connection
                }.flatMap { connection in
                    // A server that refuses INFO (renamed away) leaves the run id unknown.
                    connection.sendFuture([Array("INFO".utf8), Array("server".utf8)], timeout: configuration.connectTimeout).map { reply in
                        connection.runID.withLock { $0 = reply.string.flatMap(Self.runID(in:)) ?? "" }
                        return connection
                    }
                }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
    }

    /// Sends one command (name first) and returns its reply; an error reply is returned as
    /// ``RESPValue/error``, not thrown. Throws ``RedisError/timeout`` or ``RedisError/unavailable``.
    public func send(_ arguments: [[UInt8]], timeout: TimeAmount) async throws -> RESPValue {
        try await sendFuture(arguments, timeout: timeout).get()
    }

    func sendFuture(_ arguments: [[UInt8]], timeout: TimeAmount) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let (id, scheduleDrain) = outgoing.withLock { outgoing in
            outgoing.nextID += 1
            outgoing.queued.append(RedisRequest(id: outgoing.nextID, arguments: arguments, promise: promise))
            defer { outgoing.drainScheduled = true }
            return (outgoing.nextID, !outgoing.drainScheduled)
        }
        let channel = channel
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            channel.triggerUserOutboundEvent(RedisCommandTimedOut(id: id), promise: nil)
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        if scheduleDrain { channel.eventLoop.execute { self.drain() } }
        return promise.futureResult
    }

    /// On the event loop: writes every queued command in order, then flushes once.
    private func drain() {
        let requests = outgoing.withLock { outgoing in
            outgoing.drainScheduled = false
            defer { outgoing.queued.removeAll(keepingCapacity: true) }
            return outgoing.queued
        }
        for request in requests {
            channel.write(request).whenFailure { error in
                // Writes on a closed channel fail here and in the handler alike; the promise may be done already.
                request.promise.fail(error as? RedisError ?? RedisError.unavailable("\(error)"))
            }
        }
        channel.flush()
    }

    /// The `run_id:` field of an `INFO server` reply.
    static func runID(in info: String) -> String? {
        info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("run_id:") }.map {
            String($0.dropFirst("run_id:".count)).trimmingCharacters(in: .whitespaces)
        }
    }

    /// Closes the connection; waiting commands fail with ``RedisError/unavailable``.
    public func close() async {
        try? await channel.close()
    }
}
