import Foundation
import HTTPTypes
import Hummingbird

/// Reads the test-control headers of SPEC.md §14 (PB-TEST) on a server started with
/// `--test-control`, and runs the request with them. A malformed header is 400
/// `validation_failed` naming it. Never installed on a production server.
struct TestControlMiddleware: RouterMiddleware {
    typealias Context = PulseRequestContext

    /// Header names of PB-TEST-3...5.
    static let clientHeader = "Pulse-Test-Client"
    static let holdTTLHeader = "Pulse-Test-Hold-TTL"
    static let stallHeader = "Pulse-Test-Stall"
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
                guard pair.count == 2, let ms = Int(pair[1]), (1...Self.stallMsMax).contains(ms), ["hot", "commit"].contains(pair[0]) else {
                    throw PulseError.invalid(Self.stallHeader, "\(Self.stallHeader) is hot=<ms> and/or commit=<ms>, ms 1...\(Self.stallMsMax).")
                }
                if pair[0] == "hot" { overrides.stallAfterFirstHotStepMs = ms } else { overrides.stallBeforeCommitMs = ms }
            }
        }
        return try await TestControlRequest.$current.withValue(overrides) { try await next(request, context) }
    }
}

extension PulseServer {
    /// `GET /api/v1/test-control` (what this server offers) and `POST /api/v1/test-control/admin-token`
    /// (a token of the suite's admin; PB-TEST-1, PB-TEST-2).
    func addTestControlRoutes(to api: RouterGroup<PulseRequestContext>) {
        let accounts = accounts
        let engine = engine
        api.get("test-control") { _, _ -> Response in
            JSONResponse.success(TestControlProfile(profile: TestControlProfile.name, holdTTLSeconds: engine.configuration.holdTTLSeconds,
                                                    heldSeatsMax: engine.configuration.heldSeatsPerUserMax,
                                                    headers: [TestControlMiddleware.clientHeader, TestControlMiddleware.holdTTLHeader, TestControlMiddleware.stallHeader]))
        }
        api.post("test-control/admin-token") { _, _ -> Response in
            let admin = try await accounts.ensureAdmin(email: TestControlProfile.adminEmail, password: engine.ids.token(), name: "Conformance admin")
            return JSONResponse.success(token: try await accounts.tokens.issue(userID: admin.id), UserData(user: admin.resource))
        }
    }
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
