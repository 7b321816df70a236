import NIOCore

/// A command on its way to Redis, with the promise its reply completes.
struct RedisRequest {
    var id: UInt64
    var arguments: [[UInt8]]
    var promise: EventLoopPromise<RESPValue>
}

/// Asks the handler to fail the command `id` (and everything pipelined behind it) with a
/// timeout and close the connection, if that command is still waiting.
struct RedisCommandTimedOut {
    var id: UInt64
}

/// The pipeline handler of one Redis connection: formats commands with hiredis, reads replies with
/// hiredis, and completes the commands' promises in the order the commands were written (RESP
/// answers in order, so any number of commands may be in flight). When the connection fails,
/// every waiting command fails with an outcome-unknown error.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private let reader = RESPReplyReader()
    private var waiting = CircularBuffer<(id: UInt64, promise: EventLoopPromise<RESPValue>)>()
    private var failure: RedisError?
    /// The highest command id written: ids are given and written in order, so a timeout of a
    /// higher one names a command not written yet.
    private var lastWrittenID: UInt64 = 0
    /// Commands whose timeout came before their write (the thread that queued one lost the CPU
    /// for longer than the timeout): each fails with ``RedisError/timeout`` when its turn comes,
    /// unsent, and the connection stays open.
    private var timedOutUnwritten: Set<UInt64> = []

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure = failure ?? (timedOutUnwritten.remove(request.id).map { _ in RedisError.timeout }) {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        lastWrittenID = max(lastWrittenID, request.id)
        var buffer = context.channel.allocator.buffer(capacity: 64)
        RESPCommandFormatter.write(request.arguments, into: &buffer)
        waiting.append((request.id, request.promise))
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        do {
            try reader.feed(unwrapInboundIn(data))
            while let reply = try reader.next() {
                guard let next = waiting.popFirst() else { throw RedisError.protocolError("a reply arrived for no command") }
                next.promise.succeed(reply)
            }
        } catch {
            fail(with: error as? RedisError ?? .protocolError("\(error)"), context: context)
        }
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let timedOut = event as? RedisCommandTimedOut {
            if waiting.contains(where: { $0.id == timedOut.id }) {
                fail(with: .timeout, context: context)
            } else if timedOut.id > lastWrittenID, failure == nil {
                timedOutUnwritten.insert(timedOut.id)
            }
            promise?.succeed(())
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failWaiting(.unavailable("the connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(with: .unavailable("\(error)"), context: context)
    }

    private func fail(with error: RedisError, context: ChannelHandlerContext) {
        failWaiting(error)
        context.close(promise: nil)
    }

    private func failWaiting(_ error: RedisError) {
        failure = failure ?? error
        while let next = waiting.popFirst() { next.promise.fail(error) }
    }
}
