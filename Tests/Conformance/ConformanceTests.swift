import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PulseConform
import PulseSim
import PulseReference
import PulseWire
import Testing

/// The conformance catalogue against the reference server started live (`pulse serve
/// --test-control`, built next to this test bundle), on the embedded stores and on Redis; the same
/// suite against every mutant must fail, at the case that is about its defect.
@Suite("Conformance of the reference server", .serialized, .timeLimit(.minutes(10)))
struct ConformanceTests {
    static var pulseExecutable: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pulse").path
    }

    /// A reference server with the test-control profile and the default sign-up rate limit (the
    /// rate-limit case needs it).
    static func server(_ arguments: [String] = []) async throws -> ServerProcess {
        try await ServerProcess(executable: pulseExecutable, arguments: ["--test-control"] + arguments, environment: ["PULSE_AUTH_RATE_LIMIT": "10"])
    }

    static func run(_ server: ServerProcess, adminEmail: String? = nil, adminPassword: String? = nil, only: String? = nil) async throws -> ConformanceReport {
        try await ConformanceRunner(baseURL: server.baseURL, runID: "t\(Int.random(in: 0..<1_000_000))", adminEmail: adminEmail, adminPassword: adminPassword)
            .run(Catalogue.cases(clausePrefix: only))
    }

    static func failures(_ report: ConformanceReport) -> [String] {
        report.results.filter { $0.grade == .failed || $0.grade == .nonStrict }.map { "\($0.id): \($0.evidence.prefix(3).joined(separator: " / "))" }
    }

    @Test("the catalogue has at least 60 cases, each citing a clause of SPEC.md, with unique ids")
    func catalogueCitesSpec() throws {
        let spec = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("SPEC.md"), encoding: .utf8)
        #expect(Catalogue.all.count >= 60)
        #expect(Set(Catalogue.all.map(\.id)).count == Catalogue.all.count, "ids are unique")
        for testCase in Catalogue.all {
            #expect(spec.contains("**\(testCase.clause)**"), "\(testCase.id) cites \(testCase.clause), which SPEC.md does not define")
        }
        #expect(Catalogue.cases(clausePrefix: "PB-HOLD").allSatisfy { $0.clause.hasPrefix("PB-HOLD") })
    }

    @Test("the reference on the embedded stores: every case OK, and the reports say so in every format")
    func embedded() async throws {
        let server = try await Self.server()
        defer { server.stop() }
        let report = try await Self.run(server)
        #expect(Self.failures(report) == [])
        #expect(report.results.filter { $0.grade == .unimplemented }.isEmpty, "test control offers every capability")
        #expect(report.passed && report.testControl && report.admin)

        let json = try JSONSerialization.jsonObject(with: try report.jsonData()) as? [String: Any]
        #expect((json?["cases"] as? [Any])?.count == report.results.count && json?["passed"] as? Bool == true)
        let junit = report.junitXML()
        #expect(junit.contains(#"<testsuites name="pulse-conformance" tests="\#(report.results.count)" failures="0""#))
        #expect(XMLParser(data: Data(junit.utf8)).parse(), "the JUnit report is well-formed XML")
        let html = report.html()
        #expect(html.contains("PASSED: no MUST case failed") && html.contains("<h2>PB-HOLD</h2>"))
        #expect(report.consoleText().contains("PASSED"))
    }

    @Test("the reference on Redis: every case OK")
    func redis() async throws {
        let redis = try await RedisServerProcess()
        defer { redis.stop() }
        let server = try await Self.server(["--redis", redis.url])
        defer { server.stop() }
        let report = try await Self.run(server)
        #expect(Self.failures(report) == [])
        #expect(report.passed)
    }

    @Test("without test control the capabilities it gives are UNIMPLEMENTED, never FAILED")
    func withoutTestControl() async throws {
        let server = try await ServerProcess(executable: Self.pulseExecutable, environment: ["PULSE_AUTH_RATE_LIMIT": "10"])
        defer { server.stop() }
        let anonymous = try await Self.run(server)
        #expect(!anonymous.testControl && !anonymous.admin)
        #expect(Self.failures(anonymous) == [])
        #expect(anonymous.results.filter { $0.grade == .unimplemented }.count > 40, "cases that create events need an admin")
        #expect(anonymous.results.filter { $0.grade == .ok }.count >= 10, "the public routes are still checked")
        let withAdmin = try await Self.run(server, adminEmail: server.adminEmail, adminPassword: server.adminPassword, only: "PB-HOLD")
        #expect(Self.failures(withAdmin) == [])
        #expect(withAdmin.results.contains { $0.grade == .ok && $0.id == "holds.all-or-nothing" })
        #expect(withAdmin.results.filter { $0.grade == .unimplemented }.map(\.id).contains("holds.ttl"), "a short TTL needs test control")
    }

    @Test("every mutant fails the suite, at the case about its defect", arguments: [
        (Mutant.seedRelease, "holds.stale-release"),
        (.noFence, "checkout.fenced"),
        (.blindReleaseBroadcast, "live.no-empty-release"),
        (.noSeq, "live.seq-order"),
        (.noHoldCap, "holds.cap"),
        (.silentExpiry, "holds.expiry-broadcast"),
    ])
    func mutantsFail(mutant: Mutant, caseID: String) async throws {
        let server = try await Self.server(["--mutant", mutant.rawValue])
        defer { server.stop() }
        let report = try await Self.run(server)
        #expect(!report.passed, "\(mutant.rawValue) passed the suite")
        #expect(report.results.first { $0.id == caseID }?.grade == .failed, "\(caseID) did not catch \(mutant.rawValue)")
    }
}

/// `--profile socketio` against a real Socket.IO server: Tests/Conformance/Support/seed_server.py,
/// a stand-in for the seed built on python-socketio (scripts/test.sh makes its venv).
@Suite("Conformance of a seed-style Socket.IO server", .serialized, .timeLimit(.minutes(5)))
struct SocketIOConformanceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The seed stand-in on a free loopback port, stopped when `body` returns.
    static func withSeedServer<T>(_ body: (String) async throws -> T) async throws -> T {
        let python = root.appendingPathComponent(".build/py-venv/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "no Python venv with python-socketio: run scripts/test.sh once")
        let port = try await freeLoopbackPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("Tests/Conformance/Support/seed_server.py").path, "\(port)"]
        process.environment = ["ADMIN_EMAIL": "admin@seed.test", "ADMIN_PASSWORD": "admin-password", "PATH": "/usr/bin:/bin"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            // SIGKILL: children of the test runner may have SIGTERM ignored.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let base = "http://127.0.0.1:\(port)"
        let api = PulseAPIClient(baseURL: base)
        for _ in 0..<200 {
            // Its own answer ({"ok": true}), from a process still running: not another server's on a reused port.
            if let reply = try? await api.call(.GET, "/healthz", timeout: .seconds(1)), reply.status == 200, reply.json["ok"] as? Bool == true { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(process.isRunning, "the seed stand-in exited (port \(port) taken?)")
        return try await body(base)
    }

    @Test("the Socket.IO client speaks Engine.IO v4 with python-socketio: connect, refusal, events both ways")
    func client() async throws {
        try await Self.withSeedServer { base in
            let api = PulseAPIClient(baseURL: base)
            let (token, id) = try await api.signup(name: "Sock", email: "sock@seed.test", password: "secret12")
            let refused = SocketIOConnection(baseURL: base, auth: ["token": "Bearer nope"])
            await #expect(throws: APIError.self) { try await refused.waitConnected() }
            #expect(refused.connectError?.contains("Authentication error") == true)
            let admin = try await api.login(email: "admin@seed.test", password: "admin-password")
            let event = try await api.createEvent(adminToken: admin, title: "Seed", rows: 1, cols: 3, price: 5)
            let socket = SocketIOConnection(baseURL: base, auth: ["token": "Bearer \(token)"])
            try await socket.waitConnected()
            socket.emit("join_event", event)
            try await Task.sleep(for: .milliseconds(100))
            socket.emit("request_lock", ["eventId": event, "seatId": "A2"])
            let locked = try await socket.next("seat_locked") { $0.name == "seat_locked" }
            #expect(locked.object["seatId"] as? String == "A2" && locked.object["lockedBy"] as? String == id)
            socket.close()
        }
    }

    @Test("--profile socketio grades the seed stand-in: the live protocol works, its known defects fail")
    func seedProfile() async throws {
        try await Self.withSeedServer { base in
            let report = try await ConformanceRunner(baseURL: base, runID: "seed", adminEmail: "admin@seed.test", adminPassword: "admin-password")
                .run(Catalogue.cases(profile: .socketio))
            let grades = Dictionary(uniqueKeysWithValues: report.results.map { ($0.id, $0.grade) })
            for working in ["socketio.connect", "socketio.connect-refused", "socketio.lock-broadcast", "socketio.lock-failed",
                            "socketio.disconnect-releases", "socketio.booked", "socketio.seat-map", "socketio.no-empty-release", "socketio.malformed-payload"] {
                #expect(grades[working] == .ok, "\(working): \(report.results.first { $0.id == working }?.evidence ?? [])")
            }
            // The seed's broadcasts carry no seq and no reason (seed races 4 and 6); its errors carry no code.
            #expect(grades["socketio.seq"] == .failed && grades["socketio.release-reason"] == .failed)
            #expect(grades["errors.route-not-found"] == .failed, "no stable code in the seed's error envelope")
            #expect(!report.passed)
        }
    }

    @Test("wire mode over Socket.IO drives the seed stand-in and catches its lies: no seq, booked seats announced free on disconnect")
    func wireMode() async throws {
        try await Self.withSeedServer { base in
            let session = try await ConformanceRunner(baseURL: base, runID: "ws", adminEmail: "admin@seed.test", adminPassword: "admin-password").prepare()
            var configuration = WireModeTests.simulation
            configuration.rows = 4
            configuration.cols = 10
            configuration.checkoutProbability = 0.5
            configuration.releaseProbability = 0.2
            let outcome = try await WireRunner(session: session).run(configuration, profile: .socketio)
            let history = outcome.history
            for f in ["hold", "checkout", "release"] {
                #expect(history.contains { $0.type == .ok && $0.f == f }, "no ok \(f): the users did not get through")
            }
            #expect(history.contains { $0.type == .fail && $0.f == "hold" } || history.filter { $0.type == .ok && $0.f == "hold" }.count > 8,
                    "one-seat locks were asked for and answered")
            #expect(history.contains { $0.process == "s0" && $0.f == "seat_locked" && $0.string("user")?.hasPrefix("u") == true }, "lockedBy names a user")
            let violations = outcome.violations
            // The stand-in locks and books correctly: nothing about holds or bookings is flagged.
            for invariant in [Invariant.noDoubleBooking, .holdExclusive, .bookingRequiresLiveHold, .durableAck, .idempotentCheckout] {
                #expect(!violations.contains { $0.invariant == invariant }, "\(invariant): \(violations.filter { $0.invariant == invariant }.prefix(2))")
            }
            // Seed race 6: nothing carries a seq (said once per subscriber). Race 4: a socket that
            // leaves announces its booked seats free.
            #expect(violations.filter { $0.message.contains("without seq") }.count == configuration.subscribers)
            #expect(violations.contains { $0.invariant == .broadcastOrder && $0.message.contains("seat_released of a seat that was booked") },
                    "\(violations.prefix(5))")
        }
    }
}

/// Wire mode: a scenario's users and subscribers against the reference started live, checked with
/// the simulator's checker; a broken server is caught the same way.
@Suite("Wire mode", .serialized, .timeLimit(.minutes(5)))
struct WireModeTests {
    static var simulation: SimConfiguration {
        var configuration = SimConfiguration(seed: 4)
        configuration.rows = 2
        configuration.cols = 6
        configuration.users = 8
        configuration.operationsPerUser = 3
        configuration.thinkMsMax = 800
        configuration.holdTTLSeconds = 2
        configuration.checkoutProbability = 0.3
        configuration.releaseProbability = 0
        configuration.extendProbability = 0.1
        return configuration
    }

    static func run(mutant: Mutant?) async throws -> WireRunner.Outcome {
        let server = try await ConformanceTests.server(mutant.map { ["--mutant", $0.rawValue] } ?? [])
        defer { server.stop() }
        let session = try await ConformanceRunner(baseURL: server.baseURL, runID: "w\(Int.random(in: 0..<1_000_000))").prepare()
        return try await WireRunner(session: session).run(simulation)
    }

    @Test("the reference keeps every invariant in wire mode, and the history holds what the clients saw")
    func reference() async throws {
        let outcome = try await Self.run(mutant: nil)
        #expect(outcome.violations == [])
        let history = outcome.history
        #expect(history.contains { $0.type == .ok && $0.f == "hold" } && history.contains { $0.type == .ok && $0.f == "checkout" })
        #expect(history.filter { $0.process == "s0" && $0.f == "snapshot" }.count == 2, "a snapshot on joining and a final one")
        #expect(history.contains { $0.f == "seat_released" && $0.string("reason") == "expired" }, "abandoned holds expire and are announced")
        #expect(history.map(\.timeNs) == history.map(\.timeNs).sorted() && history.map(\.line) == Array(1...history.count))
        #expect(HistoryChecker.check(try HistoryReader.parse(history.map(HistoryReader.encode).joined(separator: "\n"))) == [],
                "the written history checks the same")
    }

    @Test("wire mode catches a server whose broadcasts arrive out of order, and one that expires holds silently", arguments: [
        (Mutant.noSeq, Invariant.broadcastOrder), (.silentExpiry, .expiryHonoured),
    ])
    func mutants(mutant: Mutant, invariant: Invariant) async throws {
        let outcome = try await Self.run(mutant: mutant)
        #expect(outcome.violations.contains { $0.invariant == invariant }, "\(mutant.rawValue): \(outcome.violations.prefix(3))")
    }
}
