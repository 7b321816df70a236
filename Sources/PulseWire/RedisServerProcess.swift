import Foundation

/// A real `redis-server` child on 127.0.0.1 and a free port, without persistence, for tests and
/// benchmarks. It can be paused (SIGSTOP, as a stalled process or a long GC pause), resumed,
/// stopped and restarted on the same port. Killed when freed.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    private let extraArguments: [String]
    private var process: Process?

    /// Starts redis-server (from PATH or /usr/bin) with `arguments` added to the defaults.
    public init(arguments: [String] = []) async throws {
        port = try await freeLoopbackPort()
        extraArguments = arguments
        try await start()
    }

    public var url: String { "redis://127.0.0.1:\(port)" }

    public static var executable: String { executablePath("redis-server") }

    /// Starts the server (again) and waits until it accepts connections.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                             "--loglevel", "warning"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            // Its own answer: a redis-server that could not bind exits, and another one may be on the port.
            if process.listens(onLoopbackPort: port) { return }
            guard process.isRunning else { throw APIError("redis-server exited with \(process.terminationStatus)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw APIError("redis-server did not start on port \(port)")
    }

    /// Kills the server and waits for it to exit; its data is gone. SIGKILL, because a child of
    /// the test process may inherit a signal mask that blocks SIGTERM.
    public func stop() {
        guard let process, process.isRunning else { return }
        process.killAndAwaitExit()
    }

    public func pause() { if let process { kill(process.processIdentifier, SIGSTOP) } }
    public func resume() { if let process { kill(process.processIdentifier, SIGCONT) } }

    deinit {
        resume()
        stop()
    }
}

/// The path of the program `name`: the first on PATH, else `/usr/bin/name` (Debian's place).
public func executablePath(_ name: String) -> String {
    let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" } + ["/usr/bin/\(name)"]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/\(name)"
}
