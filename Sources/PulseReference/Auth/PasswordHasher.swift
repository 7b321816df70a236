import HummingbirdBcrypt
import NIOPosix

/// bcrypt through hummingbird-auth, run on NIO's blocking thread pool so that hashing (about a
/// quarter second at cost 12) never stalls Swift's cooperative pool or an event loop.
public struct PasswordHasher: Sendable {
    /// bcrypt cost factor (12 in production; as low as 4 for tests).
    public let cost: UInt8

    public init(cost: UInt8) {
        precondition((4...31).contains(cost), "bcrypt cost must be 4...31")
        self.cost = cost
    }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
