import Hummingbird
import HummingbirdWebSocket
import NIOCore
import PulseEngine

/// The request context of every Pulse route: the authenticated user (set by ``RequireUser``),
/// the client's address (for rate limits) and the WebSocket upgrade hook.
public struct PulseRequestContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<PulseRequestContext>
    public let remoteAddress: SocketAddress?
    /// The caller, once authenticated.
    public var user: UserRecord?
    /// The test client a conformance suite named (`Pulse-Test-Client`, only with `--test-control`).
    public var testClient: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }

    /// Request bodies are refused above this size (PB-LIMIT-1), as the seed's 10 kB JSON limit.
    public static let requestBodyBytesMax = 10 * 1024
    public var maxUploadSize: Int { Self.requestBodyBytesMax }

    /// The authenticated caller; a route behind ``RequireUser`` always has one.
    func requireUser() -> UserRecord {
        guard let user else { preconditionFailure("route is missing the RequireUser middleware") }
        return user
    }

    /// The client's IP address, for rate limiting; a named test client counts on its own (PB-TEST-4).
    var clientKey: String { testClient.map { "test:\($0)" } ?? remoteAddress?.ipAddress ?? "unknown" }
}
