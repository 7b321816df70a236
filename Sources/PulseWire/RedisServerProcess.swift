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

    /// Where its output goes (warnings only), removed when it is freed.
    private var logPath: String { FileManager.default.temporaryDirectory.appendingPathComponent("pulse-redis-\(getpid())-\(port).log").path }

    /// The `--requirepass` among the extra arguments, if any.
    private var password: String? {
        extraArguments.firstIndex(of: "--requirepass").flatMap { $0 + 1 < extraArguments.count ? extraArguments[$0 + 1] : nil }
    }

    public static var executable: String { executablePath("redis-server") }

    /// Starts the server (again) and waits until it accepts connections.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments =
            [
                "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--loglevel", "warning",
            ] + extraArguments
        // Its output goes to a file, so that a start that fails can say why (bind, ulimit, config).
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log ?? FileHandle.nullDevice
        process.standardError = log ?? FileHandle.nullDevice
        defer { try? log?.close() }
        try process.run()
        self.process = process
        // Far above its usual start (tens of milliseconds): a loaded machine may take seconds.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            // Its own answer: a redis-server that could not bind exits, and another one may be on the port.
            if Self.serverProcessID(port: port, password: password) == process.processIdentifier { return }
            guard process.isRunning else {
                let said = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw APIError("redis-server on port \(port) exited with \(process.terminationStatus): \(said.suffix(600))")
            }
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
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// The process id the redis-server on `port` reports (`INFO server`, after `AUTH` when it has
    /// a password); nil when none answers within a second.
    private static func serverProcessID(port: Int, password: String?) -> Int32? {
        withLoopbackConnection(port: port) { socket in
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let request = Array(((password.map { "AUTH \($0)\r\n" } ?? "") + "INFO server\r\n").utf8)
            guard send(socket, request, request.count, 0) == request.count else { return nil }
            var reply: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while reply.count < 65_536 {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { return nil }
                reply += buffer[0..<count]
                let text = String(decoding: reply, as: UTF8.self)
                if let found = text.range(of: "process_id:"), let end = text[found.upperBound...].firstIndex(where: \.isNewline) {
                    return Int32(text[found.upperBound..<end].trimmingCharacters(in: .whitespaces))
                }
            }
            return nil
        } ?? nil
    }
}

/// The path of the program `name`: the first on PATH, else `/usr/bin/name` (Debian's place).
public func executablePath(_ name: String) -> String {
    let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/\(name)" } + ["/usr/bin/\(name)"]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/\(name)"
}
