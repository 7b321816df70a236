import Hummingbird
import HummingbirdWebSocket
import PulseProtocol

extension PulseServer {
    /// Most bytes of one live message from a client (PB-LIMIT-3); larger frames close the connection (1009).
    public static let webSocketFrameBytesMax = 16 * 1024
    /// Most messages queued for one slow client before it is disconnected (PB-LIMIT-3).
    public static let liveOutboxCapacity = 4096

    /// The upgrade router for `/api/v1/live`: authenticates, then runs one ``LiveSession``. A
    /// refused upgrade falls through to the HTTP router, which answers with the 401 envelope.
    func buildWebSocketRouter() -> Router<PulseRequestContext> {
        let router = Router(context: PulseRequestContext.self)
        let engine = engine
        let hub = hub
        let gauge = liveConnections
        router.group("api/v1/live").add(middleware: RequireUser(accounts: accounts, allowQueryToken: true))
            .ws { inbound, outbound, context in
                let outbox = LiveOutbox(capacity: Self.liveOutboxCapacity)
                let session = await LiveSession(engine: engine, hub: hub, user: context.requestContext.requireUser(), outbox: outbox)
                gauge.increment()
                defer { gauge.decrement() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in outbox.messages { try await outbound.write(.text(text)) }
                        if outbox.overflowed {
                            try await outbound.close(.policyViolation, reason: ErrorCode.slowConsumer.rawValue)
                        }
                    }
                    do {
                        for try await message in inbound.messages(maxSize: Self.webSocketFrameBytesMax) {
                            guard case .text(let text) = message else {
                                outbox.send(LiveCodec.encode(.error(code: .malformedJSON, message: "Send JSON text messages, not binary.")))
                                continue
                            }
                            await session.handle(text)
                        }
                    } catch {
                        context.logger.debug("live connection ended", metadata: ["error": "\(error)"])
                    }
                    await session.close()
                    group.cancelAll()
                }
            }
        return router
    }

    /// PB-LIVE-1: a plain GET of the live endpoint authenticates and then asks for an upgrade.
    func addLiveFallbackRoute(to api: RouterGroup<PulseRequestContext>) {
        api.group("live").add(middleware: RequireUser(accounts: accounts, allowQueryToken: true)).get { _, _ -> Response in
            throw PulseError(status: 426, code: .upgradeRequired, message: "Connect with a WebSocket upgrade to use the live protocol.")
        }
    }
}
