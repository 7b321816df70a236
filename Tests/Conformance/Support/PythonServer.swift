import Foundation
import PulseWire
import Testing

/// A Python server of Tests/Conformance/Support (the seed stand-in, the independent
/// implementation of SPEC.md) on a free loopback port, run with the venv scripts/test.sh makes.
enum PythonServer {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Starts `script` with `environment`, waits until `GET /healthz` is `ready`, runs `body` with
    /// its root URL and stops it (SIGKILL: children of the test runner may ignore SIGTERM).
    static func with<T>(
        _ script: String, environment: [String: String], ready: @escaping (APIReply) -> Bool = { $0.status == 200 },
        _ body: (String) async throws -> T
    ) async throws -> T {
        let python = root.appendingPathComponent(".build/py-venv/bin/python").path
        try #require(FileManager.default.isExecutableFile(atPath: python), "no Python venv: run scripts/test.sh once")
        let port = try await freeLoopbackPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [root.appendingPathComponent("Tests/Conformance/Support/\(script)").path, "\(port)"]
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            process.killAndAwaitExit()
        }
        let base = "http://127.0.0.1:\(port)"
        let api = PulseAPIClient(baseURL: base)
        for _ in 0..<200 {
            // Its own answer, from a process still running: not another server's on a reused port.
            if let reply = try? await api.call(.GET, "/healthz", timeout: .seconds(1)), ready(reply) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(process.isRunning, "\(script) exited (port \(port) taken, or a bad setting in \(environment))")
        return try await body(base)
    }
}
