import Foundation

/// A MongoDB-protocol server child on 127.0.0.1 and a free port, for tests and benchmarks:
/// SecantusDB (`secantusd-py`, PyPI `SecantusDB`, a single-node server on WiredTiger) with its
/// own storage directory and `--sync-on-commit`, so a journaled write survives a SIGKILL. It can
/// be killed and started again on the same port and storage, or paused (SIGSTOP). Killed and its
/// storage removed when freed. Nothing in Pulse's MongoDB store knows which server this is.
public final class MongoServerProcess: @unchecked Sendable {
    public let port: Int
    public let storagePath: String
    private var process: Process?

    /// Starts the server on a fresh storage directory and waits until it accepts connections.
    public init() async throws {
        port = try await freeLoopbackPort()
        storagePath = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-mongo-\(port)-\(ProcessInfo.processInfo.processIdentifier)").path
        try? FileManager.default.removeItem(atPath: storagePath)
        try await start()
    }

    /// `mongodb://127.0.0.1:port/database?directConnection=true`.
    public func url(database: String = "pulse") -> String { "mongodb://127.0.0.1:\(port)/\(database)?directConnection=true" }

    /// `secantusd-py` from PULSE_SECANTUSD, PATH, or the venv `scripts/test.sh` makes (.build/py-venv).
    public static var executable: String {
        if let path = ProcessInfo.processInfo.environment["PULSE_SECANTUSD"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let venv = root.appendingPathComponent(".build/py-venv/bin/secantusd-py").path
        let onPath = executablePath("secantusd-py")
        return FileManager.default.isExecutableFile(atPath: onPath) ? onPath : venv
    }

    /// Starts the server (again, on the same storage) and waits until it accepts connections.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--host", "127.0.0.1", "--port", "\(port)", "--storage-path", storagePath, "--sync-on-commit", "--log-level", "WARNING"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw APIError("\(Self.executable) exited with \(process.terminationStatus) (port \(port) taken?)") }
            // Its own listener, not another one's on a reused port: a server that cannot bind its
            // port exits at once, so one still running a moment after the port answers is ours.
            if loopbackAcceptsConnections(port: port) {
                try await Task.sleep(for: .milliseconds(100))
                if process.isRunning { return }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw APIError("\(Self.executable) did not start on port \(port)")
    }

    /// SIGKILL and wait: acknowledged (journaled) writes stay in the storage directory.
    public func kill() {
        guard let process, process.isRunning else { return }
        process.killAndAwaitExit()
    }

    public func pause() { if let process { Foundation.kill(process.processIdentifier, SIGSTOP) } }
    public func resume() { if let process { Foundation.kill(process.processIdentifier, SIGCONT) } }

    deinit {
        resume()
        kill()
        try? FileManager.default.removeItem(atPath: storagePath)
    }
}
