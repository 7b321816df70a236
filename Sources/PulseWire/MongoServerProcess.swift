import Foundation

/// A MongoDB-protocol server child on 127.0.0.1 and a free port, for tests and benchmarks:
/// SecantusDB (`secantusd-py`, PyPI `SecantusDB`, a single-node server on WiredTiger) with its
/// own storage directory and `--sync-on-commit`, so a journaled write survives a SIGKILL. It can
/// be killed and started again on the same port and storage, or paused (SIGSTOP). Killed and its
/// storage removed when freed. Nothing in Pulse's MongoDB store knows which server this is.
/// Its standard error goes to `<storage>.log`, quoted when it fails to start.
public final class MongoServerProcess: @unchecked Sendable {
    public private(set) var port = 0
    public private(set) var storagePath = ""
    private var process: Process?

    /// The server could not take its port (another process had it): try another one.
    struct PortTaken: Error {}

    /// Starts the server on a fresh storage directory and a free port (another one when a
    /// process outside this one took the port first) and waits until it accepts connections.
    public init() async throws {
        for attempt in 1...3 {
            port = try await freeLoopbackPort()
            storagePath =
                FileManager.default.temporaryDirectory.appendingPathComponent("pulse-mongo-\(port)-\(ProcessInfo.processInfo.processIdentifier)").path
            try? FileManager.default.removeItem(atPath: storagePath)
            do {
                try await start()
                return
            } catch is PortTaken where attempt < 3 {
                continue
            }
        }
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
        let logPath = storagePath + ".log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath) ?? FileHandle.nullDevice
        try process.run()
        self.process = process
        let lock = URL(fileURLWithPath: storagePath).appendingPathComponent("WiredTiger.lock").path
        // A hang guard, not a timing check: a Python server starting on a loaded machine took over 20 s.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                if log.contains("address already in use") || log.contains("Errno 98") { throw PortTaken() }
                throw APIError("\(Self.executable) exited with \(process.terminationStatus) on port \(port): \(log.suffix(600))")
            }
            // Its own listener, not another one's on a reused port: it opens its storage and then
            // binds, and a server that cannot bind exits at once, so one that has its storage open
            // and still runs a moment after the port answers is ours.
            if FileManager.default.fileExists(atPath: lock), loopbackAcceptsConnections(port: port) {
                try await Task.sleep(for: .milliseconds(150))
                if process.isRunning { return }
                continue
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw APIError("\(Self.executable) did not start on port \(port)")
    }

    /// SIGKILL and wait: acknowledged (journaled) writes stay in the storage directory.
    public func kill() {
        guard let process, process.isRunning else { return }
        process.killAndAwaitExit()
        self.process = nil
    }

    public func pause() { if let process { Foundation.kill(process.processIdentifier, SIGSTOP) } }
    public func resume() { if let process { Foundation.kill(process.processIdentifier, SIGCONT) } }

    deinit {
        resume()
        if let process, !process.isRunning {
            // It died by itself (kill() forgets the process): say why, for the log of the run it broke.
            let log = (try? String(contentsOfFile: storagePath + ".log", encoding: .utf8)) ?? ""
            FileHandle.standardError.write(
                Data("\(Self.executable) on port \(port) had died (status \(process.terminationStatus)): \(log.suffix(1_000))\n".utf8))
        }
        kill()
        try? FileManager.default.removeItem(atPath: storagePath)
        try? FileManager.default.removeItem(atPath: storagePath + ".log")
    }
}
