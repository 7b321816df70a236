import Hummingbird
import HummingbirdWebSocket
import NIOWebSocket
import PulseEngine
import PulseLive
import PulseProtocol

extension PulseServer {
    /// Most bytes of one live message from a client (PB-LIMIT-3); larger frames close the connection (1009).
    public static let webSocketFrameBytesMax = 16 * 1024
    /// Most messages queued for one slow client before it is disconnected (PB-LIMIT-3).
    public static let liveOutboxCapacity = 4096

    /// The upgrade router for `/api/v1/live`: upgrades, authenticates, then runs one
    /// ``LiveSession``. A missing or bad token gets one `error` message with its PB-AUTH code and
    /// the close status 1008 (PB-LIVE-1): the WebSocket library can only refuse an upgrade with a
    /// bare 400, and a browser cannot read the status of a refused upgrade anyway.
    func buildWebSocketRouter() -> Router<PulseRequestContext> {
        let router = Router(context: PulseRequestContext.self)
        let engine = engine
        let hub = hub
        let gauge = liveConnections
        let accounts = accounts
        let userLimiters = userLimiters
        router.group("api/v1/live")
            .ws { inbound, outbound, context in
                let user: UserRecord
                do {
                    let request = context.request
                    let query: String? = request.uri.queryParameters.get("token").map { String($0) }
                    user = try await accounts.authenticate(authorization: request.headers[.authorization] ?? query)
                } catch {
                    let refusal = error as? PulseError ?? PulseError(status: 401, code: .invalidToken, message: "Invalid token. Please log in again.")
                    // A moment first, so the refusal does not reach the client in the same read as the
                    // 101: some WebSocket clients (Swift's HummingbirdWSClient among them, seen under
                    // load) drop frames that arrive together with the upgrade's answer.
                    try? await Task.sleep(for: .milliseconds(100))
                    try await outbound.write(.text(LiveCodec.encode(.error(code: refusal.code, message: refusal.message))))
                    try await outbound.close(.policyViolation, reason: refusal.code.rawValue)
                    return
                }
                let outbox = LiveOutbox(capacity: Self.liveOutboxCapacity)
                let session = await LiveSession(
                    engine: engine, hub: hub, user: user, outbox: outbox,
                    messageLimit: userLimiters.liveMessages, holdLimit: userLimiters.holds)
                gauge.increment()
                defer { gauge.decrement() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        // The frame's bytes as they are: shared with every other connection it goes to.
                        for await frame in outbox.messages {
                            try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame.bytes)))
                        }
                        if outbox.overflowed {
                            try await outbound.close(.policyViolation, reason: ErrorCode.slowConsumer.rawValue)
                        }
                    }
                    do {
                        for try await message in inbound.messages(maxSize: Self.webSocketFrameBytesMax) {
                            guard case .text(let text) = message else {
                                outbox.send(LiveCodec.frame(.error(code: .malformedJSON, message: "Send JSON text messages, not binary.")))
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
