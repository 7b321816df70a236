import Crypto
import Foundation

/// Secrets that people leave in place (framework defaults, tutorial values, empty strings), for
/// PB-SEC-2's black-box check: a token that one of them signs was signed with a guessable secret.
enum WeakSecrets {
    static let candidates = [
        "", "secret", "secret123", "changeme", "change-me", "password", "jwt", "jwtsecret", "jwt_secret", "jwt-secret", "your-secret-key",
        "your_jwt_secret", "mysecret", "my-secret", "supersecret", "super-secret", "test", "testsecret", "dev", "development", "pulse",
        "pulse-secret", "booking", "key", "12345678", "123456", "qwerty", "default", "s3cr3t", "shhhhh", "keyboard cat",
    ]

    /// The candidate that signs `token` (HS256), if any.
    static func signs(_ token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let input = Data("\(parts[0]).\(parts[1])".utf8)
        let signature = String(parts[2])
        return candidates.first { secret in
            let mac = HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(secret.utf8)))
            return JWT.base64URL(Data(mac)) == signature
        }
    }
}
