import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PulseWire
import Synchronization

/// What the runner learned about the target before the cases ran, shared by every case.
public struct TargetSession: Sendable {
    public var baseURL: String
    /// The protocol the target speaks: it decides how documents name their ids (`id`, or the
    /// seed's `_id`) and how seats are addressed.
    public var profile: Profile = .pulse
    /// Whether the target offers the test-control profile (SPEC.md §14).
    public var testControl: Bool
    /// An admin token, when the target gave one (test control) or credentials were given.
    public var adminToken: String?
    /// The target's hold TTL and per-user cap, when it says (test control).
    public var holdTTLSeconds: Int?
    public var heldSeatsMax: Int?
    /// The target's lock TTL as the operator gave it (`--target-hold-ttl`), for a target that
    /// cannot say (a seed-style server); the seed races that need an expiry run only when it is short.
    public var lockTTLSeconds: Double?
    /// ``lockTTLSeconds`` as a duration; the seed's 600 s when the operator gave none.
    public var lockTTL: Duration { .milliseconds(Int((lockTTLSeconds ?? 600) * 1000)) }
    /// Users signed up in advance, for targets without test control whose sign-ups are rate
    /// limited (cases sign up their own users while the target lets them).
    public var userPool: [TestUser]
    /// Whether the target has refused a sign-up with 429 in this run (then cases take the pool).
    let signUpsRefused = SignUpGate()
    /// Distinguishes this run's emails and keys from earlier runs on the same target.
    public var runID: String
    /// A shell command that restarts the target (`--restart-command`), if the operator gave one.
    public var restartCommand: String?
    /// Why the given admin credentials gave no token, if they did not.
    public var adminProblem: String?
    /// The operator's admin (`--admin-email`), logged in even under test control, whose own admin
    /// serves the other cases (PB-AUTH-5: an admin exists by operator action).
    public var operatorAdminToken: String?
}

/// A user the suite signed up.
public struct TestUser: Sendable {
    public var token: String
    public var id: String
    public var email: String
    public var password: String
}

/// What a case works with: the target, helpers that record every request and answer (the
/// evidence of a failure), and the checks that throw ``CaseFailure``.
public final class CaseContext: Sendable {
    public let session: TargetSession
    public let caseID: String
    public let api: PulseAPIClient
    /// The HTTP client its requests go through (a case that runs a whole workload shares it).
    let http: HTTPClient
    private let transcript = Mutex<[String]>([])
    private let notes = Mutex<[String]>([])
    private let counter = Mutex(0)
    private let connections = Mutex<[LiveConnection]>([])
    private let sockets = Mutex<[SocketIOConnection]>([])
    private let users = Mutex<[Int: TestUser]>([:])
    private let seatMaps = Mutex<[String: [String: String]]>([:])

    /// The clause the case checks and its force: a MUST case that reads through an optional route
    /// the target lacks cannot run (UNIMPLEMENTED), see ``OptionalRoutes``.
    let clause: String
    let requirement: Requirement
    /// Whether the case checks a rate limit itself: then a 429 is an answer, not a reason to wait.
    let checksRateLimits: Bool
    /// Which of the session's pool users this case takes first, so that cases running at once
    /// act as different accounts (each with its own per-user limits).
    let poolOffset: Int
    private let pacing = Mutex(Pacing())

    /// A context outside any case (wire mode): its requests are sent once, 429s included.
    convenience init(session: TargetSession, caseID: String, http: HTTPClient) {
        var bare = ConformanceCase(caseID, "", .info, "", needs: []) { _ in }
        bare.checksRateLimits = true
        self.init(session: session, testCase: bare, http: http)
    }

    init(session: TargetSession, testCase: ConformanceCase, poolOffset: Int = 0, http: HTTPClient) {
        self.session = session
        caseID = testCase.id
        clause = testCase.clause
        requirement = testCase.requirement
        checksRateLimits = testCase.checksRateLimits
        self.poolOffset = poolOffset
        api = PulseAPIClient(baseURL: session.baseURL, http: http)
        self.http = http
    }

    /// Requests and answers so far, and the notes of the case.
    var evidence: [String] { notes.withLock { $0 } + (pacingNote.map { [$0] } ?? []) + transcript.withLock { $0 }.suffix(12) }

    /// Adds a line to the case's evidence (an observation for an informational case).
    public func note(_ line: String) { notes.withLock { $0.append(line) } }

    private func nextNumber() -> Int {
        counter.withLock {
            $0 += 1
            return $0
        }
    }

    /// A name unique to this run and case (emails, keys).
    /// It stays well under the 64 characters a test-control client id may have (PB-TEST-4), so it
    /// serves as one: a long case id is cut and marked with a hash of the whole.
    public func unique(_ prefix: String) -> String { "\(prefix)-\(session.runID.prefix(16))-\(caseTag)-\(nextNumber())" }

    /// The case's id in names: as it is (dots as dashes) up to 20 characters, else its first 13
    /// and a hash of the whole (FNV-1a), so names stay distinct and short.
    var caseTag: String {
        let plain = caseID.replacingOccurrences(of: ".", with: "-")
        guard plain.count > 20 else { return plain }
        let hash = plain.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        return "\(plain.prefix(13))-\(String(hash % 0xff_ffff, radix: 16))"
    }

    /// The test-control header that gives this case (or one sign-up of it) a rate-limit bucket of its own.
    private func clientHeaders(_ headers: [(String, String)]) -> [(String, String)] {
        guard session.testControl, !headers.contains(where: { $0.0 == "Pulse-Test-Client" }) else { return headers }
        return [("Pulse-Test-Client", "\(session.runID.prefix(16))-\(caseTag)")] + headers
    }

    /// Sends a request with a JSON body and records it, as a polite client: a 429 is waited out
    /// (its `Retry-After`) and the request sent again, within the case's waiting budget (see
    /// ``politely(_:_:send:)``). Throws ``CaseInconclusive`` when the target's limits outlast that
    /// budget, ``CaseUnimplemented`` when a MUST case meets an optional route the target lacks.
    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, token: String? = nil, json: [String: Any]? = nil, headers: [(String, String)] = [])
        async throws -> APIReply
    {
        try await politely(method, path) {
            try await self.api.call(method, path, token: token, json: json, headers: self.clientHeaders(headers), timeout: .seconds(20))
        }
    }

    /// Sends a request with a raw body and records it, as ``call(_:_:token:json:headers:)`` does.
    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, token: String? = nil, raw: String, headers: [(String, String)] = []) async throws
        -> APIReply
    {
        try await politely(method, path) {
            try await self.api.call(method, path, token: token, rawBody: raw, headers: self.clientHeaders(headers), timeout: .seconds(20))
        }
    }

    /// Longest the suite waits, in all, for one case's requests that the target rate-limited
    /// (SPEC.md PB-LIMIT-4, PB-AUTH-6): within it every 429 is waited out and the request sent again.
    public static let rateLimitWaitSecondsMax = 30.0

    /// What the target's rate limits cost this case so far.
    struct Pacing {
        var refusals = 0
        var waitedSeconds = 0.0
    }

    /// Sends one request (`send`) until the target stops answering 429, waiting its `Retry-After`
    /// (1 s when it gives none) before each retry; a 429 is a limit the target enforces, never its
    /// failure, and it did nothing (PB-LIMIT-4). A case that checks a limit itself gets its 429s.
    /// Then applies the optional-route rule of ``OptionalRoutes`` and records the answer.
    private func politely(_ method: HTTPMethod, _ path: String, send: () async throws -> APIReply) async throws -> APIReply {
        var reply = try await send()
        while reply.status == 429, !checksRateLimits {
            let retryAfter = max(0.05, Double(reply.headers.first(name: "Retry-After") ?? "") ?? 1)
            let spent = pacing.withLock { pacing -> Double in
                pacing.refusals += 1
                return pacing.waitedSeconds
            }
            guard spent + retryAfter <= Self.rateLimitWaitSecondsMax else {
                record(method, path, reply)
                throw CaseInconclusive(
                    "the target rate-limited the suite's own pace on \(method.rawValue) \(Self.route(of: path)): it answered 429 "
                        + "\(reply.code ?? "") with Retry-After \(reply.headers.first(name: "Retry-After") ?? "none"); waiting it out would pass "
                        + "the \(Int(Self.rateLimitWaitSecondsMax)) s this case may wait (\(pacing.withLock { $0.refusals }) refusals so far)")
            }
            pacing.withLock { $0.waitedSeconds += retryAfter }
            try await Task.sleep(for: .milliseconds(Int(retryAfter * 1000)))
            reply = try await send()
        }
        record(method, path, reply)
        if requirement == .must, let route = OptionalRoutes.route(method: method.rawValue, path: path), route.clause != clause,
            OptionalRoutes.isAbsent(status: reply.status, code: reply.code)
        {
            throw CaseUnimplemented(
                "this MUST case reads through \(route), which the target does not offer (\(reply.status)"
                    + "\(reply.code.map { " \($0)" } ?? "")); a missing SHOULD is graded by its own cases")
        }
        return reply
    }

    /// `path` without its query, each id (a segment of 16 or more hexadecimal digits) as `:id`.
    static func route(of path: String) -> String {
        let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return pathOnly.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.count >= 16 && segment.allSatisfy(\.isHexDigit) ? ":id" : String(segment)
        }.joined(separator: "/")
    }

    /// A note on what the target's rate limits cost the case, when they cost anything.
    var pacingNote: String? {
        let pacing = pacing.withLock { $0 }
        guard pacing.refusals > 0 else { return nil }
        return
            "the target rate-limited \(pacing.refusals) request(s); the suite waited \(String(format: "%.1f", pacing.waitedSeconds)) s and sent them again"
    }

    private func record(_ method: HTTPMethod, _ path: String, _ reply: APIReply) {
        let shortPath = path.count > 90 ? String(path.prefix(90)) + "..." : path
        transcript.withLock { $0.append("\(method.rawValue) \(shortPath) -> \(reply.status)\(reply.code.map { " \($0)" } ?? "")") }
    }

    /// Throws unless `reply` has `status` (and, when given, error `code`).
    public func expect(_ reply: APIReply, _ status: Int, _ code: String? = nil, _ what: String = "") throws {
        guard reply.status == status, code == nil || reply.code == code else {
            throw CaseFailure(
                "\(what.isEmpty ? "" : what + ": ")expected \(status)\(code.map { " \($0)" } ?? ""), got \(reply.status)\(reply.code.map { " \($0)" } ?? "")"
            )
        }
    }

    /// Throws ``CaseFailure`` with `message` unless `condition` holds.
    public func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw CaseFailure(message()) }
    }

    /// The admin token, or ``CaseUnimplemented``.
    public func admin() throws -> String {
        guard let token = session.adminToken else {
            throw CaseUnimplemented("no admin token: start the target with test control or give --admin-email and --admin-password")
        }
        return token
    }

    /// Throws ``CaseUnimplemented`` unless the target offers test control.
    public func requireTestControl() throws {
        guard session.testControl else { throw CaseUnimplemented("the target does not offer the test-control profile (SPEC.md §14)") }
    }

    /// A user of its own for this case: a new account at every call under test control (each in
    /// its own rate-limit bucket); without it the first user of the pool signed up in advance.
    public func user() async throws -> TestUser { try await newUser(poolIndex: 0) }

    /// The `index`-th user of this case: the same user for the same index, distinct users for
    /// distinct indexes. Without test control, the pool's first (sign-ups may be rate limited),
    /// then new accounts while the target lets the suite sign up (a seed-style server does not
    /// limit sign-ups); ``CaseUnimplemented`` once it answers 429.
    public func user(_ index: Int) async throws -> TestUser {
        if let known = users.withLock({ $0[index] }) { return known }
        let user = try await newUser(poolIndex: index)
        return users.withLock { users in
            if let raced = users[index] { return raced }
            users[index] = user
            return user
        }
    }

    private func newUser(poolIndex index: Int) async throws -> TestUser {
        let name = unique("user")
        let email = name + "@conform.invalid"
        if session.testControl { return try await signUp(email: email, headers: [("Pulse-Test-Client", name)]) }
        if index < session.userPool.count { return session.userPool[(poolOffset + index) % session.userPool.count] }
        if !session.signUpsRefused.refused {
            // A limit the suite cannot wait out (PB-AUTH-6 counts sign-ups over 15 minutes)
            // leaves the case without the users it needs: it cannot run.
            do {
                let reply = try await call(.POST, "/api/v1/users/signup", json: ["name": "Conformance User", "email": email, "password": password])
                if reply.status != 429 { return try signedUp(reply, email: email) }
            } catch is CaseInconclusive {}
            session.signUpsRefused.refuse()
        }
        throw CaseUnimplemented("needs \(index + 1) users; the target rate-limits sign-ups (429) and the pool has \(session.userPool.count)")
    }

    /// The password of every account the suite signs up in this run.
    public var password: String { "password-\(session.runID)" }

    /// Signs up a new account with `email` (throws ``CaseFailure`` with the target's answer when it refuses).
    public func signUp(email: String, headers: [(String, String)] = []) async throws -> TestUser {
        let reply = try await call(
            .POST, "/api/v1/users/signup", json: ["name": "Conformance User", "email": email, "password": password], headers: headers)
        return try signedUp(reply, email: email)
    }

    /// The user a sign-up answer describes: 201 with a token and the user's id (`id`, or the seed's `_id`).
    private func signedUp(_ reply: APIReply, email: String) throws -> TestUser {
        try expect(reply, 201, nil, "sign-up")
        guard let token = reply.json["token"] as? String, let id = documentID(reply.object("user")) else {
            throw CaseFailure("sign-up answered 201 without a token and a user id")
        }
        return TestUser(token: token, id: id, email: email, password: password)
    }

    /// A document's id: `id` under the Pulse profile (PB-REST-3); the seed's `_id` (or `id`) for a
    /// seed-style server, which returns Mongoose documents as they are.
    public func documentID(_ document: [String: Any]) -> String? {
        switch session.profile {
        case .pulse: document["id"] as? String
        case .socketio: document["_id"] as? String ?? document["id"] as? String
        }
    }

    /// The ids of `event`'s seats by label (`A1` -> its id), read from the seat map once per case
    /// and event. A Pulse server's seat id is its label; a seed-style server's is an ObjectId.
    public func seatIDs(_ event: String) async throws -> [String: String] {
        if let known = seatMaps.withLock({ $0[event] }) { return known }
        let reply = try await call(.GET, "/api/v1/events/\(event)/seats")
        try expect(reply, 200, nil, "the seat map")
        let pairs = reply.objects("seats").compactMap { seat in documentID(seat).map { ((seat["label"] as? String) ?? $0, $0) } }
        let ids = Dictionary(pairs, uniquingKeysWith: { first, _ in first })
        seatMaps.withLock { $0[event] = ids }
        return ids
    }

    /// The id of the seat labelled `label` (`A1`) of `event`; ``CaseFailure`` when the map lacks it.
    public func seat(_ event: String, _ label: String) async throws -> String {
        guard let id = try await seatIDs(event)[label] else { throw CaseFailure("the seat map has no seat \(label)") }
        return id
    }

    /// An active event of `rows` × `cols` seats at `price`, created by the admin.
    public func event(rows: Int = 2, cols: Int = 10, price: Double = 25) async throws -> String {
        let reply = try await call(
            .POST, "/api/v1/events", token: try admin(),
            json: [
                "title": "Conformance \(caseID)", "venue": "Pulse Hall", "date": "2031-06-01T20:00:00Z",
                "venueConfig": ["rows": rows, "cols": cols, "price": price],
            ])
        try expect(reply, 201, nil, "event creation")
        guard let id = documentID(reply.object("event")) else { throw CaseFailure("event creation answered 201 without an id") }
        return id
    }

    /// Holds `seats` for `user`; returns the hold object. `headers` may ask for a short TTL.
    public func hold(_ event: String, _ seats: [String], as user: TestUser, headers: [(String, String)] = []) async throws -> [String: Any] {
        let reply = try await call(.POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": seats], headers: headers)
        try expect(reply, 201, nil, "hold of \(seats)")
        return reply.object("hold")
    }

    /// The header asking for holds of `seconds` (test control).
    public func shortTTL(_ seconds: Int) throws -> [(String, String)] {
        try requireTestControl()
        return [("Pulse-Test-Hold-TTL", "\(seconds)")]
    }

    /// A live connection for `token` (closed when the case ends), with a heartbeat if given
    /// (``LiveConnection/init(url:headers:heartbeat:)``).
    public func live(_ token: String?, headers: [(String, String)] = [], heartbeat: Duration? = nil) -> LiveConnection {
        let connection = LiveConnection(url: LiveConnection.url(baseURL: session.baseURL, token: token), headers: headers, heartbeat: heartbeat)
        connections.withLock { $0.append(connection) }
        return connection
    }

    /// Joining waits up to this long for the connection or the snapshot: it returns as soon as
    /// they come, and on a busy machine they came later than 5 s (a case is about what follows).
    static let joinSeconds = 30.0

    /// A live connection that joined `event` and got its snapshot.
    public func subscriber(_ event: String, as user: TestUser) async throws -> LiveConnection {
        let connection = live(user.token)
        connection.send(["type": "join_event", "eventId": event])
        _ = try await connection.next(seconds: Self.joinSeconds, "snapshot of the joined event") { $0.type == "snapshot" }
        return connection
    }

    /// A Socket.IO connection (the seed's auth: `{"token": "Bearer <jwt>"}`), closed when the case ends.
    public func socket(_ token: String) -> SocketIOConnection {
        let socket = SocketIOConnection(baseURL: session.baseURL, auth: ["token": "Bearer \(token)"])
        sockets.withLock { $0.append(socket) }
        return socket
    }

    /// A connected Socket.IO client that joined `event`'s room.
    public func joinedSocket(_ event: String, token: String) async throws -> SocketIOConnection {
        let socket = self.socket(token)
        try await socket.waitConnected(seconds: Self.joinSeconds)
        socket.emit("join_event", event)
        try await Task.sleep(for: .milliseconds(100))  // the seed does not acknowledge a join
        return socket
    }

    /// Runs the restart command (`/bin/sh -c`), then waits up to 60 s until the target answers
    /// `GET /api/v1/events` again. ``CaseFailure`` when the command fails or the target stays down.
    public func restartTarget() async throws {
        guard let command = session.restartCommand else { throw CaseUnimplemented("no --restart-command") }
        let status = try await Shell.run(command)
        guard status == 0 else { throw CaseFailure("the restart command exited with status \(status)") }
        note("restarted the target: \(command.prefix(80))")
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let reply = try? await api.call(.GET, "/api/v1/events", timeout: .seconds(2)), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw CaseFailure("the target did not answer within 60 s of its restart")
    }

    /// The first live message in which the target rate-limited one of this case's connections
    /// (an `error` or `lock_failed` with code `rate_limited`, PB-LIMIT-4), if any: then what the
    /// case saw after it is the target's limit at work, not its failure.
    var liveRateLimit: String? {
        for connection in connections.withLock({ $0 }) {
            if let limited = connection.messages.first(where: { $0.json?["code"] as? String == "rate_limited" }) { return limited.text }
        }
        return nil
    }

    func closeConnections() {
        for connection in connections.withLock({ $0 }) { connection.close() }
        for socket in sockets.withLock({ $0 }) { socket.close() }
    }
}

/// Remembers, for a whole run, that the target refused a sign-up with 429 (so cases stop asking).
final class SignUpGate: Sendable {
    private let state = Mutex(false)
    var refused: Bool { state.withLock { $0 } }
    func refuse() { state.withLock { $0 = true } }
}
