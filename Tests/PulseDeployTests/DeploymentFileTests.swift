import Foundation
import Testing

@testable import PulseDeploy

/// Deployment files: the two shipped ones read as described, and every mistake is refused with
/// its line and field.
@Suite("Deployment files")
struct DeploymentFileTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func shipped(_ name: String) throws -> Deployment {
        try Deployment.parse(try String(contentsOf: root.appendingPathComponent("Deployments/\(name)"), encoding: .utf8))
    }

    @Test("Deployments/pulse.yaml: Redis, SecantusDB and three Pulse instances that share both and one JWT secret")
    func pulse() throws {
        let deployment = try Self.shipped("pulse.yaml")
        #expect(deployment.processes.map(\.name) == ["redis", "mongo", "api1", "api2", "api3"])
        #expect(deployment.processes.map(\.role) == [.hotStore, .durableStore, .api, .api, .api])
        #expect(deployment.apis.allSatisfy { $0.readyPath == "/readyz" })
        let tools = Tools(
            root: "/r", pulse: "/bin/pulse", secantusd: "/bin/secantusd", python: "/bin/python", jwtSecret: "s3cret", mutant: "stale-map")
        let addresses = ["redis": "10.77.9.2", "mongo": "10.77.9.3", "api1": "10.77.9.4", "api2": "10.77.9.5", "api3": "10.77.9.6"]
        let api2 = deployment.command(of: deployment.process("api2")!, addresses: addresses, data: "/d/api2", tools: tools)
        #expect(api2.hasPrefix("env PULSE_JWT_SECRET=s3cret /bin/pulse serve --host 10.77.9.5 --port 8080 --redis redis://10.77.9.2:6379"))
        #expect(api2.contains("--mongo 'mongodb://10.77.9.3:27017/pulse?directConnection=true'") && api2.hasSuffix("--mutant stale-map"))
        let redis = deployment.command(of: deployment.process("redis")!, addresses: addresses, data: "/d/redis", tools: tools)
        #expect(redis == #"redis-server --bind 10.77.9.2 --port 6379 --protected-mode no --save "" --appendonly no --dir /d/redis"#)
        let unmutated = Tools(root: "/r", pulse: "p", secantusd: "s", python: "y", jwtSecret: "j")
        #expect(!deployment.command(of: deployment.apis[0], addresses: addresses, data: "/d", tools: unmutated).contains("--mutant"))
    }

    @Test("Deployments/seed-standin.yaml: the seed stand-in, one api process")
    func seedStandIn() throws {
        let deployment = try Self.shipped("seed-standin.yaml")
        #expect(deployment.processes.map(\.name) == ["seed"] && deployment.apis.count == 1)
        let command = deployment.command(
            of: deployment.apis[0], addresses: ["seed": "10.77.9.2"], data: "/d",
            tools: Tools(root: "/repo", pulse: "p", secantusd: "s", python: "/venv/python", jwtSecret: "j"))
        #expect(command.hasSuffix("/venv/python /repo/Tests/Conformance/Support/seed_server.py 5000") && command.contains("HOST=10.77.9.2"))
    }

    @Test(
        "a mistake is refused with its line and field",
        arguments: [
            ("name: x\nprocesses:\n  - {name: a, role: api, port: 1, command: \"run {addres}\"}\n", 3, "processes[0].command"),
            ("name: x\nprocesses:\n  - {name: a, role: api, port: 1, command: \"run {b.port}\"}\n", 3, "processes[0].command"),
            ("name: x\nprocesses:\n  - {name: a, role: api, port: 1, command: run, colour: red}\n", 3, "processes[0].colour"),
            ("name: x\nprocesses:\n  - {name: a, role: store, port: 1, command: run}\n", 3, "processes[0].role"),
            ("name: x\nprocesses:\n  - {name: A-1, role: api, port: 1, command: run}\n", 3, "processes[0].name"),
            ("name: x\nprocesses:\n  - {name: a, role: api, port: 70000, command: run}\n", 3, "processes[0].port"),
            (
                "name: x\nprocesses:\n  - {name: a, role: api, port: 1, command: run}\n  - {name: a, role: other, port: 2, command: run}\n", 4,
                "processes[1].name"
            ),
            ("name: x\nprocesses:\n  - {name: a, role: other, port: 1, command: run}\n", 2, "processes"),
            ("name: x\nprocesses:\n  - {name: a, role: api, port: 1, command: run, ready_http: readyz}\n", 3, "processes[0].ready_http"),
            ("name: x\nprocesses: []\n", 2, "processes"),
            ("name: x\nprocesess: []\n", 1, "processes"),
        ])
    func refused(text: String, line: Int, field: String) {
        #expect {
            try Deployment.parse(text)
        } throws: { error in
            guard let error = error as? DeploymentError else { return false }
            return error.line == line && error.field == field
        }
    }

    @Test("placeholders are read in order, braces and all")
    func placeholders() {
        #expect(Deployment.placeholders(in: "a {x} b {y.port}{z} {") == ["x", "y.port", "z"])
    }
}
