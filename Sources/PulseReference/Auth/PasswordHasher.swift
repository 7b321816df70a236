import Crypto
import Foundation
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
        let input = Self.bcryptInput(password)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(input, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        let input = Self.bcryptInput(password)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(input, hash: hash) }
    }

    /// What bcrypt is given: the password itself when it fits bcrypt's 72 bytes (so hashes made by
    /// any bcrypt, the seed's included, still verify), else `sha256:` and the base64 of its
    /// SHA-256 digest (51 bytes), so that no byte past the 72nd is silently ignored (PB-USER-1).
    static func bcryptInput(_ password: String) -> String {
        guard password.utf8.count > 72 else { return password }
        return "sha256:" + Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }
}
