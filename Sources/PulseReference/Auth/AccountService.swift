import PulseEngine
import PulseProtocol

/// Sign-up, log-in and token authentication (PB-USER, PB-AUTH).
public final class AccountService: Sendable {
    let durable: any DurableStore
    let tokens: TokenService
    let hasher: PasswordHasher
    let ids: any IdentifierSource
    let clock: any EngineClock
    /// A hash checked against when the email is unknown, so both failures take as long.
    private let decoyHash: String
    private let knownUsers = KnownUsers(capacity: 100_000)

    /// Lengths count Unicode code points, as JSON Schema's `minLength`/`maxLength` do (PB-USER-1).
    static let nameLengthRange = 2...100
    static let emailLengthMax = 254
    /// Every character of a password counts: ``PasswordHasher`` digests one longer than bcrypt's
    /// 72 bytes first rather than let bcrypt cut it.
    static let passwordLengthRange = 6...72

    public init(durable: any DurableStore, tokens: TokenService, hasher: PasswordHasher, ids: any IdentifierSource, clock: any EngineClock)
        async throws
    {
        self.durable = durable
        self.tokens = tokens
        self.hasher = hasher
        self.ids = ids
        self.clock = clock
        decoyHash = try await hasher.hash(ids.token())
    }

    /// Registers a user (role `user`, whatever the body says) and returns it with a token.
    /// Throws 400 `validation_failed` or 409 `email_taken`.
    public func signup(_ request: SignupRequest) async throws -> (UserRecord, String) {
        let name = request.name.trimmingWhitespace()
        try Self.requireValidName(name)
        let email = try Self.normalisedEmail(request.email)
        try Self.requireValidPassword(request.password)
        let user = UserRecord(
            id: ids.entityID(), name: name, email: email, passwordHash: try await hasher.hash(request.password),
            role: .user, createdAtMs: clock.nowMs())
        do {
            try await durable.createUser(user)
        } catch DurableStoreError.emailTaken {
            throw PulseError(status: 409, code: .emailTaken, message: "An account with this email already exists.")
        } catch DurableStoreError.unavailable(let detail) {
            throw PulseError.storeUnavailable(detail, outcomeUnknown: true)
        }
        return (user, try await tokens.issue(userID: user.id))
    }

    /// Checks credentials. Throws 401 `invalid_credentials` for a wrong email or password alike.
    public func login(_ request: LoginRequest) async throws -> (UserRecord, String) {
        let email = request.email.trimmingWhitespace().lowercased()
        let user = try await lookup { try await durable.user(email: email) }
        let matches = try await hasher.verify(request.password, hash: user?.passwordHash ?? decoyHash)
        guard let user, matches else {
            throw PulseError(status: 401, code: .invalidCredentials, message: "Incorrect email or password")
        }
        return (user, try await tokens.issue(userID: user.id))
    }

    /// The user an `Authorization` header value (or bare token) names, from ``KnownUsers`` when this
    /// process has seen it (its role may predate a promotion: see ``currentUser(id:)``).
    /// Throws 401 `unauthenticated`, `invalid_token` or `token_expired`.
    public func authenticate(authorization: String?) async throws -> UserRecord {
        guard let authorization, !authorization.isEmpty else {
            throw PulseError(status: 401, code: .unauthenticated, message: "You are not logged in! Please log in to get access.")
        }
        let token = authorization.hasPrefix("Bearer ") ? String(authorization.dropFirst(7)) : authorization
        let userID = try await tokens.verify(token)
        if let user = knownUsers[userID] { return user }
        return try await currentUser(id: userID)
    }

    /// The user as the durable store has it now (role and all). Throws 401 `invalid_token` when
    /// there is no such user, 503 `store_unavailable`.
    public func currentUser(id userID: String) async throws -> UserRecord {
        guard let user = try await lookup({ try await durable.user(id: userID) }) else {
            throw PulseError(status: 401, code: .invalidToken, message: "The user belonging to this token no longer exists.")
        }
        knownUsers.store(user, for: user.id)
        return user
    }

    /// Creates the admin `email` or promotes and re-keys an existing account (PB-AUTH-5).
    public func ensureAdmin(email: String, password: String, name: String = "Administrator") async throws -> UserRecord {
        try await Self.ensureAdmin(email: email, password: password, name: name, durable: durable, hasher: hasher, ids: ids, clock: clock)
    }

    /// The same, for `pulse admin create`, which runs without a token service.
    public static func ensureAdmin(
        email: String, password: String, name: String, durable: any DurableStore, hasher: PasswordHasher,
        ids: any IdentifierSource, clock: any EngineClock
    ) async throws -> UserRecord {
        let email = try normalisedEmail(email)
        try requireValidPassword(password)
        try requireValidName(name)
        let user = UserRecord(
            id: ids.entityID(), name: name, email: email, passwordHash: try await hasher.hash(password), role: .admin, createdAtMs: clock.nowMs())
        return try await durable.upsertAdmin(user)
    }

    /// Throws 400 `validation_failed` naming `name` unless it has 2...100 characters.
    static func requireValidName(_ name: String) throws {
        guard nameLengthRange.contains(name.unicodeScalars.count) else { throw PulseError.invalid("name", "name must be 2...100 characters.") }
    }

    /// Throws 400 `validation_failed` naming `password` unless it has 6...72 characters.
    static func requireValidPassword(_ password: String) throws {
        guard passwordLengthRange.contains(password.unicodeScalars.count) else {
            throw PulseError.invalid("password", "password must be 6...72 characters.")
        }
    }

    private func lookup<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch DurableStoreError.unavailable(let detail) {
            throw PulseError.storeUnavailable(detail, outcomeUnknown: false)
        }
    }

    /// Lower-cased, trimmed email if it looks like one (`local@domain.tld`, no spaces, ≤ 254).
    static func normalisedEmail(_ raw: String) throws -> String {
        // Checked on code points, as the OpenAPI document's pattern is: a character may join
        // several (`@` followed by a combining mark is one character, yet holds the `@`).
        let trimmed = raw.trimmingWhitespace()
        let scalars = Array(trimmed.unicodeScalars)
        let ats = scalars.indices.filter { scalars[$0] == "@" }
        guard scalars.count <= emailLengthMax, ats.count == 1, ats[0] > 0, !scalars.contains(where: \.properties.isWhitespace) else {
            throw PulseError.invalid("email", "Please provide a valid email.")
        }
        let domain = scalars[(ats[0] + 1)...]
        guard domain.contains("."), domain.first != ".", domain.last != "." else {
            throw PulseError.invalid("email", "Please provide a valid email.")
        }
        return trimmed.lowercased()
    }
}
