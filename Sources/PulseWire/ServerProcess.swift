import Foundation

/// A `pulse serve` child process on 127.0.0.1 with its own data directory, for benchmarks and
/// multi-process tests. Stop it with ``stop()``; it is also killed when this object is freed.
public final class ServerProcess: @unchecked Sendable {
    /// The server's root URL.
    public let baseURL: String
    /// The admin account the server bootstrapped.
    public let adminEmail = "bench-admin@pulse.invalid"
    public let adminPassword = "bench-admin-password"
    private let process = Process()
    private let dataDirectory: URL
    private var launched = false

    /// Starts `executable serve` on a free port with `arguments` and `environment` added, and
    /// waits (up to `readySeconds`) until `/healthz` answers. Throws ``APIError`` if it does not.
    public init(executable: String, arguments: [String] = [], environment: [String: String] = [:], readySeconds: Double = 30) async throws {
        let port = try await freeLoopbackPort()
        baseURL = "http://127.0.0.1:\(port)"
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-server-\(port)-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: dataDirectory)
        var env = ProcessInfo.processInfo.environment
        env["PULSE_JWT_SECRET"] = String(repeating: "s", count: 48)
        env["PULSE_ADMIN_EMAIL"] = adminEmail
        env["PULSE_ADMIN_PASSWORD"] = adminPassword
        env["PULSE_BCRYPT_COST"] = "4"
        env["PULSE_AUTH_RATE_LIMIT"] = "1000000"
        env["PULSE_LOG_LEVEL"] = env["PULSE_LOG_LEVEL"] ?? "warning"
        env.merge(environment) { _, new in new }
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", dataDirectory.path] + arguments
        process.environment = env
        try process.run()
        launched = true
        let api = PulseAPIClient(baseURL: baseURL)
        let deadline = ContinuousClock.now + .milliseconds(Int(readySeconds * 1000))
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw APIError("pulse serve exited with status \(process.terminationStatus) before it was ready") }
            if let reply = try? await api.call(.GET, "/healthz", timeout: .seconds(1)), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        stop()
        throw APIError("pulse serve did not answer /healthz within \(readySeconds) s")
    }

    /// Sends SIGTERM, waits for the exit and removes the data directory. Returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        guard launched else { return -1 }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dataDirectory)
        return process.terminationStatus
    }

    deinit { stop() }

    /// The path of the running executable (`/proc/self/exe` on Linux), to start a sibling `pulse`.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
