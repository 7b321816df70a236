import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

@testable import PulseDeploy

/// Real processes in real network namespaces, with real faults: needs root, iproute2 and nftables
/// (scripts/install-deps.sh installs them). Each test removes what it made by its own names.
@Suite("Deployments in network namespaces", .enabled(if: NetworkLab.isAvailable), .serialized, .timeLimit(.minutes(10)))
struct DeploymentRunTests {
    static let root = DeploymentFileTests.root

    static func tools(mutant: String? = nil) -> Tools {
        Tools(
            root: root.path,
            pulse: URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pulse").path,
            secantusd: root.appendingPathComponent(".build/py-venv/bin/secantusd-py").path,
            python: root.appendingPathComponent(".build/py-venv/bin/python").path, jwtSecret: String(repeating: "k", count: 40), mutant: mutant)
    }

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-deploy-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `body` on a started deployment (the clocks of `steppedClocks` under libfaketime), then
    /// stops it and checks that nothing of it is left.
    static func with(
        _ deployment: Deployment, tools: Tools = tools(), steppedClocks: Set<String> = [], _ body: (DeploymentRun) async throws -> Void
    ) async throws {
        let directory = try directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try await DeploymentRun.start(deployment, tools: tools, directory: directory, steppedClocks: steppedClocks)
        do { try await body(run) } catch {
            await run.stop()
            throw error
        }
        await run.stop()
        let namespaces = try LabCommand.run(["/usr/sbin/ip", "netns", "list"])
        #expect(!namespaces.contains("pulse-\(run.lab.id)-"), "the lab's namespaces are gone")
        #expect(!(try LabCommand.run(["/usr/sbin/ip", "-o", "link", "show"])).contains(run.lab.bridge), "the lab's bridge is gone")
        let shared = Set(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm"))
        let left = run.startedProcessIDs.flatMap { ["faketime_shm_\($0)", "sem.faketime_sem_\($0)", "mongoc-\($0)"] }.filter(shared.contains)
        #expect(left.isEmpty, "libfaketime's and libmongoc's shared memory of the run's processes is removed: \(left)")
    }

    /// Whether a connection from `namespace` (nil: the host) to `address:port` opens within a second.
    static func reaches(_ address: String, _ port: Int, from namespace: String? = nil) -> Bool {
        let probe = "import socket; socket.create_connection(('\(address)', \(port)), 1)"
        let command = (namespace.map { ["/usr/sbin/ip", "netns", "exec", $0] } ?? []) + ["python3", "-c", probe]
        return (try? LabCommand.run(command)) != nil
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass (a bound on the wait, not a
    /// measure of speed).
    static func eventually(within seconds: Int = 30, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }

    @Test("two processes: cuts one way, losses, crash and restart, pause; nothing left after")
    func twoProcesses() async throws {
        let deployment = try Deployment.parse(
            """
            name: two
            processes:
              - {name: a, role: api, port: 8000, command: "python3 -m http.server {port} --bind {address} --directory {data}"}
              - {name: b, role: other, port: 8000, ready_http: /, command: "python3 -m http.server {port} --bind {address} --directory {data}"}
            """)
        try await Self.with(deployment) { run in
            let (a, b) = (run.address(of: "a")!, run.address(of: "b")!)
            let (inA, inB) = (run.lab.namespace("a"), run.lab.namespace("b"))
            #expect(Self.reaches(a, 8000) && Self.reaches(b, 8000, from: inA) && Self.reaches(a, 8000, from: inB))
            try run.lab.cut(from: .member("a"), to: .member("b"))
            #expect(!Self.reaches(b, 8000, from: inA), "a cannot reach b")
            // One way is what arrives: b's packets still reach a, but a TCP connection either
            // way needs a's answers, which are lost.
            #expect(!Self.reaches(a, 8000, from: inB), "b's connection to a gets no answer")
            #expect(Self.reaches(a, 8000) && Self.reaches(b, 8000), "the clients still reach both")
            try run.lab.cut(from: .clients, to: .member("a"))
            #expect(!Self.reaches(a, 8000) && Self.reaches(b, 8000), "the clients are cut from a only")
            try run.lab.heal()
            #expect(Self.reaches(b, 8000, from: inA) && Self.reaches(a, 8000))
            try run.lab.lose(from: .member("b"), to: .clients, percent: 100)
            #expect(!Self.reaches(b, 8000), "every answer of b to the clients is lost")
            try run.lab.heal()
            // One rule removed on its own: the other stays.
            let toA = try #require(try run.lab.cut(from: .clients, to: .member("a")))
            try run.lab.cut(from: .clients, to: .member("b"))
            try run.lab.remove(toA)
            #expect(Self.reaches(a, 8000) && !Self.reaches(b, 8000), "a's rule is gone, b's stays")
            try run.lab.heal()
            run.pause("b")
            #expect(!Readiness.isReady(address: b, port: 8000, path: "/"), "a paused process answers nothing")
            run.resume("b")
            #expect(await Self.eventually { Readiness.isReady(address: b, port: 8000, path: "/") })
            await run.crash("a")
            #expect(!Self.reaches(a, 8000))
            try await run.restart("a")
            #expect(Self.reaches(a, 8000))
        }
    }

    @Test(
        "Deployments/pulse.yaml: three instances act as one engine; a paused Redis, a link cut from Redis and a crashed instance each show, and heal",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")))
    func pulseDeployment() async throws {
        let deployment = try DeploymentFileTests.shipped("pulse.yaml")
        try await Self.with(deployment) { run in
            let urls = run.apiURLs
            #expect(urls.count == 3)
            func ready(_ url: String) async -> Bool { (try? await Self.status("\(url)/readyz")) == 200 }
            for url in urls { #expect(await ready(url)) }
            // One engine: a user signed up at one instance is known to another.
            let email = "deploy-\(getpid())@pulse.invalid"
            let (created, body) = try await Self.post(
                "\(urls[0])/api/v1/users/signup", ["name": "Deploy Test", "email": email, "password": "correct horse battery"])
            #expect(created == 201)
            let token = try #require((try JSONSerialization.jsonObject(with: body) as? [String: Any])?["token"] as? String)
            #expect(try await Self.status("\(urls[1])/api/v1/users/me", token: token) == 200, "the second instance knows the user and the token")
            // A paused Redis: every instance stops being ready; resumed, all are ready again.
            run.pause("redis")
            #expect(await Self.eventually { !(await ready(urls[0])) }, "with Redis paused the instance is not ready")
            run.resume("redis")
            #expect(await Self.eventually { await ready(urls[0]) })
            #expect(await Self.eventually { await ready(urls[2]) })
            // api2 cut from Redis: api2 is not ready, api1 is; healed, both are.
            try run.lab.cut(from: .member("api2"), to: .member("redis"))
            #expect(await Self.eventually { !(await ready(urls[1])) })
            #expect(await ready(urls[0]))
            try run.lab.heal()
            #expect(await Self.eventually { await ready(urls[1]) })
            // api1 crashed: the others serve; restarted, it is ready again.
            await run.crash("api1")
            #expect((try? await Self.status("\(urls[0])/readyz")) == nil)
            #expect(try await Self.status("\(urls[2])/api/v1/users/me", token: token) == 200)
            try await run.restart("api1")
            #expect(try await Self.status("\(urls[0])/api/v1/users/me", token: token) == 200)
        }
    }

    @Test("Deployments/seed-standin.yaml: the seed stand-in answers on its namespace's address, and a crash of it shows")
    func seedStandIn() async throws {
        try await Self.with(try DeploymentFileTests.shipped("seed-standin.yaml")) { run in
            let url = try #require(run.apiURLs.first)
            #expect(try await Self.status("\(url)/healthz") == 200)
            #expect(try await Self.status("\(url)/api/v1/events") == 200, "the seed's own routes answer")
            await run.crash("seed")
            #expect((try? await Self.status("\(url)/healthz")) == nil)
        }
    }

    static func status(_ url: String, token: String? = nil) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return try await HTTPClient.shared.execute(request, timeout: .seconds(10)).status.code
    }

    static func post(_ url: String, _ json: [String: String]) async throws -> (UInt, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(try JSONSerialization.data(withJSONObject: json))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        return (response.status.code, Data(try await response.body.collect(upTo: 1 << 20).readableBytesView))
    }
}
