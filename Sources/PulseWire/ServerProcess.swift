import Foundation

/// A `pulse serve` child process on 127.0.0.1 with its own data directory, for benchmarks and
/// multi-process tests. Stop it with ``stop()``; it is also killed when this object is freed.
public final class ServerProcess: @unchecked Sendable {
    /// The server's root URL.
    public let baseURL: String
    /// Its port on 127.0.0.1.
    public let port: Int
    /// Its data directory.
    public var dataDirectoryPath: String { dataDirectory.path }
    /// The environment it was started with (a restart of the same server needs it: the JWT secret).
    public private(set) var environment: [String: String] = [:]
    /// The child's process id.
    public var processIdentifier: Int32 { process.processIdentifier }
    /// The admin account the server bootstrapped.
    public let adminEmail = "bench-admin@pulse.invalid"
    public let adminPassword = "bench-admin-password"
    private let process = Process()
    private let dataDirectory: URL
    private let ownsDataDirectory: Bool
    private var launched = false

    /// Starts `executable serve` on a free port with `arguments` and `environment` added, and
    /// waits (up to `readySeconds`) until `/healthz` answers. Throws ``APIError`` if it does not.
    /// Without `dataDirectory` it gets a fresh one of its own, removed when it stops; several
    /// instances given one directory share its SQLite database.
    public init(
        executable: String, arguments: [String] = [], environment: [String: String] = [:], dataDirectory: String? = nil,
        readySeconds: Double = 30
    ) async throws {
        let port = try await freeLoopbackPort()
        self.port = port
        baseURL = "http://127.0.0.1:\(port)"
        if let dataDirectory {
            self.dataDirectory = URL(fileURLWithPath: dataDirectory)
            ownsDataDirectory = false
        } else {
            self.dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "pulse-server-\(port)-\(ProcessInfo.processInfo.processIdentifier)")
            ownsDataDirectory = true
            try? FileManager.default.removeItem(at: self.dataDirectory)
        }
        var env = ProcessInfo.processInfo.environment
        env["PULSE_JWT_SECRET"] = String(repeating: "s", count: 48)
        env["PULSE_ADMIN_EMAIL"] = adminEmail
        env["PULSE_ADMIN_PASSWORD"] = adminPassword
        env["PULSE_BCRYPT_COST"] = "4"
        // A harness's server is not throttled: suites sign up many users from one address, and
        // benchmarks send each user's holds as fast as the server takes them (both overridable).
        env["PULSE_AUTH_RATE_LIMIT"] = "1000000"
        env["PULSE_USER_RATE_SCALE"] = "0"
        env["PULSE_LOG_LEVEL"] = env["PULSE_LOG_LEVEL"] ?? "warning"
        env.merge(environment) { _, new in new }
        self.environment = env
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--data-dir", self.dataDirectory.path] + arguments
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

    /// Sends SIGTERM and waits up to 10 s for a graceful exit, then SIGKILL (a child can inherit an
    /// ignored SIGTERM from a test runner). Removes a data directory of its own. Returns the exit status.
    @discardableResult
    public func stop() -> Int32 {
        guard launched else { return -1 }
        if process.isRunning {
            process.terminate()
            if !process.awaitExit(within: 10) { process.killAndAwaitExit() }
        }
        if ownsDataDirectory { try? FileManager.default.removeItem(at: dataDirectory) }
        return process.isRunning ? -1 : process.terminationStatus
    }

    /// SIGKILL (`kill -9`: no graceful shutdown) and wait; the data directory stays.
    public func kill() {
        if launched, process.isRunning { process.killAndAwaitExit() }
    }

    deinit { stop() }

    /// The path of the running executable (`/proc/self/exe` on Linux), to start a sibling `pulse`.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
