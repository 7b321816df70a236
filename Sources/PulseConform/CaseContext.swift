import AsyncHTTPClient
import Foundation
import NIOHTTP1
import PulseWire
import Synchronization

/// What the runner learned about the target before the cases ran, shared by every case.
public struct TargetSession: Sendable {
    public var baseURL: String
    /// Whether the target offers the test-control profile (SPEC.md §14).
    public var testControl: Bool
    /// An admin token, when the target gave one (test control) or credentials were given.
    public var adminToken: String?
    /// The target's hold TTL and per-user cap, when it says (test control).
    public var holdTTLSeconds: Int?
    public var heldSeatsMax: Int?
    /// Users signed up in advance, for targets without test control (their sign-ups are rate limited).
    public var userPool: [TestUser]
    /// Distinguishes this run's emails and keys from earlier runs on the same target.
    public var runID: String
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

    /// A user of its own for this case: signed up now under test control, else from the pool
    /// (the `index`-th, so a case can ask for several distinct users).
    public func user(_ index: Int = 0) async throws -> TestUser {
        if !session.testControl {
            guard index < session.userPool.count else { throw CaseUnimplemented("needs \(index + 1) users; the pool has \(session.userPool.count)") }
            return session.userPool[index]
        }
        let email = unique("user") + "@conform.invalid"
        return try await signUp(email: email, headers: [("Pulse-Test-Client", email)])
    }

    /// Signs up a new account with `email` (throws ``CaseFailure`` with the target's answer when it refuses).
    public func signUp(email: String, headers: [(String, String)] = []) async throws -> TestUser {
        let password = "password-\(session.runID)"
        let reply = try await call(.POST, "/api/v1/users/signup", json: ["name": "Conformance User", "email": email, "password": password], headers: headers)
        try expect(reply, 201, nil, "sign-up")
        guard let token = reply.json["token"] as? String, let id = reply.object("user")["id"] as? String else {
            throw CaseFailure("sign-up answered 201 without a token and a user id")
        }
        return TestUser(token: token, id: id, email: email, password: password)
    }

    /// An active event of `rows` × `cols` seats at `price`, created by the admin.
    public func event(rows: Int = 2, cols: Int = 10, price: Double = 25) async throws -> String {
        let reply = try await call(.POST, "/api/v1/events", token: try admin(), json: [
            "title": "Conformance \(caseID)", "venue": "Pulse Hall", "date": "2031-06-01T20:00:00Z",
            "venueConfig": ["rows": rows, "cols": cols, "price": price],
        ])
        try expect(reply, 201, nil, "event creation")
        guard let id = reply.object("event")["id"] as? String else { throw CaseFailure("event creation answered 201 without an id") }
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

    func closeConnections() {
        for connection in connections.withLock({ $0 }) { connection.close() }
        for socket in sockets.withLock({ $0 }) { socket.close() }
    }
}
