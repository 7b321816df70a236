import Foundation
import HTTPTypes
import Hummingbird
import PulseEngine

/// Reads the test-control headers of SPEC.md §14 (PB-TEST) on a server started with
/// `--test-control`, and runs the request with them. A malformed header is 400
/// `validation_failed` naming it. Never installed on a production server.
struct TestControlMiddleware: RouterMiddleware {
    typealias Context = PulseRequestContext

    /// Header names of PB-TEST-3...5.
    static let clientHeader = "Pulse-Test-Client"
    static let holdTTLHeader = "Pulse-Test-Hold-TTL"
    static let stallHeader = "Pulse-Test-Stall"
    static let faultHeader = "Pulse-Test-Fault"
    static let leaseHeader = "Pulse-Test-Lease"
    static let stallMsMax = 30_000

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let client = request.headers[HTTPField.Name(Self.clientHeader)!] {
            guard (1...64).contains(client.utf8.count), client.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
                throw PulseError.invalid(Self.clientHeader, "\(Self.clientHeader) must be 1...64 printable ASCII characters.")
            }
            context.testClient = client
        }
        var overrides = TestControlRequest()
        if let ttl = request.headers[HTTPField.Name(Self.holdTTLHeader)!] {
            guard let seconds = Int(ttl), (1...3600).contains(seconds) else {
                throw PulseError.invalid(Self.holdTTLHeader, "\(Self.holdTTLHeader) must be a whole number of seconds, 1...3600.")
            }
            overrides.holdTTLSeconds = seconds
        }
        if let stall = request.headers[HTTPField.Name(Self.stallHeader)!] {
            for part in stall.split(separator: ",") {
                let pair = part.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, let ms = Int(pair[1]), (1...Self.stallMsMax).contains(ms), ["before", "hot", "commit"].contains(pair[0]) else {
                    throw PulseError.invalid(
                        Self.stallHeader, "\(Self.stallHeader) is before=<ms>, hot=<ms> and/or commit=<ms>, ms 1...\(Self.stallMsMax).")
                }
                switch pair[0] {
                case "before": overrides.stallBeforeFirstHotStepMs = ms
                case "hot": overrides.stallAfterFirstHotStepMs = ms
                default: overrides.stallBeforeCommitMs = ms
                }
            }
        }
        if let fault = request.headers[HTTPField.Name(Self.faultHeader)!] {
            guard fault.hasPrefix("commit="), let kind = TestControlRequest.CommitFault(rawValue: String(fault.dropFirst(7))) else {
                throw PulseError.invalid(Self.faultHeader, "\(Self.faultHeader) is commit=fail or commit=lost.")
            }
            overrides.commitFault = kind
        }
        if let lease = request.headers[HTTPField.Name(Self.leaseHeader)!] {
            guard let ms = Int(lease), (100...30_000).contains(ms) else {
                throw PulseError.invalid(Self.leaseHeader, "\(Self.leaseHeader) must be 100...30000 ms.")
            }
            overrides.checkoutLeaseMs = ms
        }
        return try await TestControlRequest.$current.withValue(overrides) { try await next(request, context) }
    }
}

extension PulseServer {
    /// `GET /api/v1/test-control` (what this server offers), `POST /api/v1/test-control/admin-token`
    /// (a token of the suite's admin; PB-TEST-1, PB-TEST-2) and `POST /api/v1/test-control/token`
    /// (a token of the caller expiring when asked; PB-TEST-6).
    func addTestControlRoutes(to api: RouterGroup<PulseRequestContext>) {
        let accounts = accounts
        let engine = engine
        api.get("test-control") { _, _ -> Response in
            JSONResponse.success(
                TestControlProfile(
                    profile: TestControlProfile.name, holdTTLSeconds: engine.configuration.holdTTLSeconds,
                    heldSeatsMax: engine.configuration.heldSeatsPerUserMax,
                    headers: [
                        TestControlMiddleware.clientHeader, TestControlMiddleware.holdTTLHeader, TestControlMiddleware.stallHeader,
                        TestControlMiddleware.faultHeader, TestControlMiddleware.leaseHeader,
                    ]))
        }
        api.post("test-control/admin-token") { _, _ -> Response in
            let admin = try await accounts.ensureAdmin(email: TestControlProfile.adminEmail, password: engine.ids.token(), name: "Conformance admin")
            return JSONResponse.success(token: try await accounts.tokens.issue(userID: admin.id), UserData(user: admin.resource))
        }
        api.group("test-control").add(middleware: RequireUser(accounts: accounts)).post("token") { request, context -> Response in
            let body = try await request.decodeJSON(ExpiringTokenRequest.self, context: context)
            guard (-86_400...86_400).contains(body.expiresInSeconds) else {
                throw PulseError.invalid("expiresInSeconds", "expiresInSeconds must be -86400...86400.")
            }
            let user = context.requireUser()
            return JSONResponse.success(
                token: try await accounts.tokens.issue(userID: user.id, expiresInSeconds: body.expiresInSeconds),
                UserData(user: user.resource))
        }
    }
}

/// The body of `POST /api/v1/test-control/token`.
struct ExpiringTokenRequest: Decodable {
    var expiresInSeconds: Int
}

/// The body of `GET /api/v1/test-control`.
struct TestControlProfile: Encodable {
    static let name = "pulse-test-control/1"
    static let adminEmail = "conformance-admin@pulse.invalid"
    var profile: String
    var holdTTLSeconds: Int
    var heldSeatsMax: Int
    var headers: [String]
}
