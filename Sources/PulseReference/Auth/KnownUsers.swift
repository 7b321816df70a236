import PulseEngine

/// Users this process has looked up by id, so authenticating a request needs no durable read.
/// Sound because users are never deleted and never demoted: a cached record names a user that
/// exists, with at least the role it shows. What can be older than the durable store is a
/// promotion to admin made since (by `pulse admin create` or another instance), and the password
/// hash: ``RequireAdmin`` and `GET /users/me` read the user afresh (``AccountService/currentUser(id:)``),
/// and log-in never uses this cache. Unknown ids are never cached.
typealias KnownUsers = BoundedCache<String, UserRecord>

/// Access tokens already verified by this process (signature, algorithm and claims), each with
/// the user it names and its expiry, so a request with a known token skips HMAC and JSON work.
/// Only tokens that passed are kept; expiry is still checked on every use.
typealias VerifiedTokens = BoundedCache<String, VerifiedToken>

struct VerifiedToken: Sendable {
    var userID: String
    var expiresAtMs: Int64
}
