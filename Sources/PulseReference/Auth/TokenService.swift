import Foundation
import JWTKit
import PulseEngine
import PulseProtocol

/// The claims of a Pulse access token: the seed's `{id, iat, exp}` (PB-AUTH-3).
struct AccessTokenClaims: JWTPayload {
    var id: String
    var iat: IssuedAtClaim
    var exp: ExpirationClaim

    /// Expiry is checked by ``TokenService`` against the injected clock, not here.
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// Issues and verifies HS256 access tokens (jwt-kit). Only HS256 signed with the server's secret
/// is accepted; `alg: none`, other algorithms, bad signatures and expired tokens are refused.
public final class TokenService: Sendable {
    private let keys: JWTKeyCollection
    private let clock: any EngineClock
    /// Tokens whose signature and claims this process has checked, with their user and expiry: a
    /// token's validity under this server's one secret never changes, only the time it expires.
    private let verified = VerifiedTokens(capacity: 100_000)
    /// Token lifetime in seconds.
    public let lifetimeSeconds: Int

    /// - Parameter secret: the HMAC key; at least 32 bytes.
    public init(secret: String, lifetimeSeconds: Int, clock: any EngineClock) async {
        precondition(secret.utf8.count >= 32, "JWT secret must be at least 32 bytes")
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        self.lifetimeSeconds = lifetimeSeconds
        self.clock = clock
    }

    private var now: Date { Date(timeIntervalSince1970: Double(clock.nowMs()) / 1000) }

    /// A signed token for `userID`, expiring after the configured lifetime.
    public func issue(userID: String) async throws -> String {
        try await issue(userID: userID, expiresInSeconds: lifetimeSeconds)
    }

    /// A signed token for `userID` whose `exp` is now + `expiresInSeconds` (negative: already
    /// expired; the test-control profile's expiring tokens, PB-TEST-6).
    public func issue(userID: String, expiresInSeconds: Int) async throws -> String {
        let issued = now
        let claims = AccessTokenClaims(
            id: userID, iat: IssuedAtClaim(value: issued),
            exp: ExpirationClaim(value: issued.addingTimeInterval(Double(expiresInSeconds))))
        return try await keys.sign(claims)
    }

    /// The user id a token names. Throws 401 `token_expired` or 401 `invalid_token`.
    public func verify(_ token: String) async throws -> String {
        if let known = verified[token] {
            guard clock.nowMs() < known.expiresAtMs else { throw Self.expired }
            return known.userID
        }
        guard token.utf8.count <= 4096, Self.isServerHeader(token) else { throw Self.invalid }
        let claims: AccessTokenClaims
        do {
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw Self.invalid
        }
        guard now < claims.exp.value else { throw Self.expired }
        verified.store(VerifiedToken(userID: claims.id, expiresAtMs: Int64((claims.exp.value.timeIntervalSince1970 * 1000).rounded())), for: token)
        return claims.id
    }

    private static let invalid = PulseError(status: 401, code: .invalidToken, message: "Invalid token. Please log in again.")
    private static let expired = PulseError(status: 401, code: .tokenExpired, message: "Your token has expired! Please log in again.")

    /// Whether a compact JWS header is one this server writes: `alg` HS256 and nothing but `alg`
    /// and `typ` (a `kid`, `jku`, `crit`... names keys or rules this server never uses).
    private static func isServerHeader(_ token: String) -> Bool {
        guard let header = token.split(separator: ".", omittingEmptySubsequences: false).first else { return false }
        var base64 = header.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return object["alg"] as? String == "HS256" && Set(object.keys).isSubset(of: ["alg", "typ"])
    }
}
