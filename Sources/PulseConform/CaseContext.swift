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
    private let transcript = Mutex<[String]>([])
    private let notes = Mutex<[String]>([])
    private let counter = Mutex(0)
    private let connections = Mutex<[LiveConnection]>([])
    private let sockets = Mutex<[SocketIOConnection]>([])
    private let users = Mutex<[Int: TestUser]>([:])
    private let seatMaps = Mutex<[String: [String: String]]>([:])

    init(session: TargetSession, caseID: String, http: HTTPClient) {
        self.session = session
        self.caseID = caseID
        api = PulseAPIClient(baseURL: session.baseURL, http: http)
    }

    /// Requests and answers so far, and the notes of the case.
    var evidence: [String] { notes.withLock { $0 } + transcript.withLock { $0 }.suffix(12) }

    /// Adds a line to the case's evidence (an observation for an informational case).
    public func note(_ line: String) { notes.withLock { $0.append(line) } }

    private func nextNumber() -> Int { counter.withLock { $0 += 1; return $0 } }

    /// A name unique to this run and case (emails, keys).
    public func unique(_ prefix: String) -> String { "\(prefix)-\(session.runID)-\(caseID.replacingOccurrences(of: ".", with: "-"))-\(nextNumber())" }

    /// The test-control header that gives this case (or one sign-up of it) a rate-limit bucket of its own.
    private func clientHeaders(_ headers: [(String, String)]) -> [(String, String)] {
        guard session.testControl, !headers.contains(where: { $0.0 == "Pulse-Test-Client" }) else { return headers }
        return [("Pulse-Test-Client", "\(session.runID)-\(caseID)")] + headers
    }

    /// Sends a request with a JSON body and records it.
    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, token: String? = nil, json: [String: Any]? = nil, headers: [(String, String)] = []) async throws -> APIReply {
        let reply = try await api.call(method, path, token: token, json: json, headers: clientHeaders(headers), timeout: .seconds(20))
        record(method, path, reply)
        return reply
    }

    /// Sends a request with a raw body and records it.
    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, token: String? = nil, raw: String, headers: [(String, String)] = []) async throws -> APIReply {
        let reply = try await api.call(method, path, token: token, rawBody: raw, headers: clientHeaders(headers), timeout: .seconds(20))
        record(method, path, reply)
        return reply
    }

    private func record(_ method: HTTPMethod, _ path: String, _ reply: APIReply) {
        let shortPath = path.count > 90 ? String(path.prefix(90)) + "..." : path
        transcript.withLock { $0.append("\(method.rawValue) \(shortPath) -> \(reply.status)\(reply.code.map { " \($0)" } ?? "")") }
    }

    /// Throws unless `reply` has `status` (and, when given, error `code`).
    public func expect(_ reply: APIReply, _ status: Int, _ code: String? = nil, _ what: String = "") throws {
        guard reply.status == status, code == nil || reply.code == code else {
            throw CaseFailure("\(what.isEmpty ? "" : what + ": ")expected \(status)\(code.map { " \($0)" } ?? ""), got \(reply.status)\(reply.code.map { " \($0)" } ?? "")")
        }
    }

    /// Throws ``CaseFailure`` with `message` unless `condition` holds.
    public func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw CaseFailure(message()) }
    }

    /// The admin token, or ``CaseUnimplemented``.
    public func admin() throws -> String {
        guard let token = session.adminToken else { throw CaseUnimplemented("no admin token: start the target with test control or give --admin-email and --admin-password") }
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
        let email = unique("user") + "@conform.invalid"
        if session.testControl { return try await signUp(email: email, headers: [("Pulse-Test-Client", email)]) }
        if index < session.userPool.count { return session.userPool[index] }
        if !session.signUpsRefused.refused {
            let reply = try await call(.POST, "/api/v1/users/signup", json: ["name": "Conformance User", "email": email, "password": password])
            if reply.status != 429 { return try signedUp(reply, email: email) }
            session.signUpsRefused.refuse()
        }
        throw CaseUnimplemented("needs \(index + 1) users; the target rate-limits sign-ups (429) and the pool has \(session.userPool.count)")
    }

    /// The password of every account the suite signs up in this run.
    public var password: String { "password-\(session.runID)" }

    /// Signs up a new account with `email` (throws ``CaseFailure`` with the target's answer when it refuses).
    public func signUp(email: String, headers: [(String, String)] = []) async throws -> TestUser {
        let reply = try await call(.POST, "/api/v1/users/signup", json: ["name": "Conformance User", "email": email, "password": password], headers: headers)
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
        let reply = try await call(.POST, "/api/v1/events", token: try admin(), json: [
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

    /// A live connection for `token` (closed when the case ends).
    public func live(_ token: String?, headers: [(String, String)] = []) -> LiveConnection {
        let connection = LiveConnection(url: LiveConnection.url(baseURL: session.baseURL, token: token), headers: headers)
        connections.withLock { $0.append(connection) }
        return connection
    }

    /// A live connection that joined `event` and got its snapshot.
    public func subscriber(_ event: String, as user: TestUser) async throws -> LiveConnection {
        let connection = live(user.token)
        connection.send(["type": "join_event", "eventId": event])
        _ = try await connection.next("snapshot of the joined event") { $0.type == "snapshot" }
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
        try await socket.waitConnected()
        socket.emit("join_event", event)
        try await Task.sleep(for: .milliseconds(100)) // the seed does not acknowledge a join
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
