import Foundation
import Synchronization

/// A deployment running on this host: each process in its own namespace of a ``NetworkLab``,
/// started by `ip netns exec NAMESPACE /bin/sh -c 'exec COMMAND'`, its output in
/// `DIRECTORY/logs/NAME.log`, its data in `DIRECTORY/data/NAME` (kept across a crash and restart).
/// The nemesis acts on it: pause and resume (SIGSTOP, SIGCONT), crash (SIGKILL) and restart on
/// the same data, and the lab's cuts and losses.
public final class DeploymentRun: Sendable {
    public let deployment: Deployment
    public let lab: NetworkLab
    public let directory: String
    public let tools: Tools
    /// The processes whose clock the nemesis may step (``stepClock(_:byMs:)``): each runs under
    /// libfaketime, its offset read from `DIRECTORY/clocks/NAME` at every reading of the time.
    public let steppedClocks: Set<String>
    private let pids = Mutex<[String: pid_t]>([:])
    private let launched = Mutex<[pid_t]>([])

    /// Every process id this run started, restarts included, in start order.
    public var startedProcessIDs: [pid_t] { launched.withLock { $0 } }

    /// Starts every process in order, each ready (its port takes connections, or its ready path
    /// answers 200) before the next starts; those of `steppedClocks` under libfaketime. Throws
    /// ``DeploymentRunError`` (with the end of the process's log) when one exits or is not ready
    /// within `readyWithin`, or when clocks are to be stepped and ``Tools/libfaketime`` is missing;
    /// what was started is stopped first.
    public static func start(
        _ deployment: Deployment, tools: Tools, directory: String, readyWithin: Duration = .seconds(60), steppedClocks: Set<String> = []
    ) async throws -> DeploymentRun {
        if !steppedClocks.isEmpty, tools.libfaketime == nil {
            throw DeploymentRunError("stepping a process's clock needs libfaketime: install Debian's faketime package")
        }
        let lab = try NetworkLab()
        let run = DeploymentRun(deployment: deployment, lab: lab, directory: directory, tools: tools, steppedClocks: steppedClocks)
        do {
            for process in deployment.processes { try lab.add(process.name) }
            for process in deployment.processes { try await run.launch(process, readyWithin: readyWithin) }
        } catch {
            await run.stop()
            throw error
        }
        return run
    }

    private init(deployment: Deployment, lab: NetworkLab, directory: String, tools: Tools, steppedClocks: Set<String>) {
        self.deployment = deployment
        self.lab = lab
        self.directory = directory
        self.tools = tools
        self.steppedClocks = steppedClocks
    }

    /// The process's address on the lab's bridge.
    public func address(of name: String) -> String? { lab.address(name) }

    /// `http://ADDRESS:PORT` of every api instance, in start order.
    public var apiURLs: [String] { deployment.apis.compactMap { url(of: $0.name) } }

    /// `http://ADDRESS:PORT` of a process.
    public func url(of name: String) -> String? {
        guard let process = deployment.process(name), let address = address(of: name) else { return nil }
        return "http://\(address):\(process.port)"
    }

    /// The last `lines` lines of a process's log.
    public func log(of name: String, lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: "\(directory)/logs/\(name).log", encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }

    /// Stops a process in its tracks (SIGSTOP): its connections stay open, nothing answers.
    public func pause(_ name: String) { signal(name, SIGSTOP) }

    /// Lets a paused process go on (SIGCONT).
    public func resume(_ name: String) { signal(name, SIGCONT) }

    /// Kills a process at once (SIGKILL), as a power cut would; its data stays for ``restart(_:readyWithin:)``.
    public func crash(_ name: String) async {
        guard let pid = pids.withLock({ $0.removeValue(forKey: name) }) else { return }
        kill(pid, SIGKILL)
        await reap(pid)
    }

    /// Sets the clock of a process of ``steppedClocks`` `byMs` away from this host's (0: back in
    /// step), at once, also across its restarts. Throws ``DeploymentRunError`` for another process,
    /// or when the offset cannot be written.
    public func stepClock(_ name: String, byMs: Int64) throws {
        guard steppedClocks.contains(name) else { throw DeploymentRunError("\(name) was not started with a clock that can be stepped") }
        do {
            // libfaketime's offset: "+3.000s", "-1.500s".
            try String(format: "%+.3fs\n", Double(byMs) / 1000).write(toFile: clockFile(name), atomically: true, encoding: .utf8)
        } catch {
            throw DeploymentRunError("cannot step the clock of \(name): \(error)")
        }
    }

    private func clockFile(_ name: String) -> String { "\(directory)/clocks/\(name)" }

    /// Starts a crashed (or stopped) process again on the same data and waits until it is ready.
    /// Throws ``DeploymentRunError``.
    public func restart(_ name: String, readyWithin: Duration = .seconds(60)) async throws {
        guard let process = deployment.process(name) else { throw DeploymentRunError("\(name) is not a process of \(deployment.name)") }
        await crash(name)
        try await launch(process, readyWithin: readyWithin)
    }

    /// Stops every process (SIGCONT, then SIGTERM in reverse start order, SIGKILL after 5 s) and
    /// removes the lab. Never throws.
    public func stop() async {
        for process in deployment.processes.reversed() {
            guard let pid = pids.withLock({ $0.removeValue(forKey: process.name) }) else { continue }
            kill(pid, SIGCONT)
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(5)
            while !Self.exited(pid), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
            kill(pid, SIGKILL)
            await reap(pid)
        }
        lab.tearDown()
    }

    private func signal(_ name: String, _ number: Int32) {
        if let pid = pids.withLock({ $0[name] }) { kill(pid, number) }
    }

    private func launch(_ process: Deployment.Process, readyWithin: Duration) async throws {
        let data = "\(directory)/data/\(process.name)"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(directory)/logs", withIntermediateDirectories: true)
        let addresses = Dictionary(
            uniqueKeysWithValues: deployment.processes.compactMap { other in lab.address(other.name).map { (other.name, $0) } })
        var command = deployment.command(of: process, addresses: addresses, data: data, tools: tools)
        if steppedClocks.contains(process.name), let library = tools.libfaketime {
            try FileManager.default.createDirectory(atPath: "\(directory)/clocks", withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: clockFile(process.name)) { try stepClock(process.name, byMs: 0) }
            // The offset is read again at every reading of the wall clock; monotonic clocks (timers,
            // timeouts) are left alone. FAKETIME_SHARED names no shared memory: without it, a Swift
            // program preloaded directly loses its command line (libfaketime changes the environment
            // as it starts) and prints its usage.
            command =
                "env LD_PRELOAD=\(library) FAKETIME_TIMESTAMP_FILE=\(clockFile(process.name)) FAKETIME_NO_CACHE=1 "
                + "FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_SHARED='/pulse-none /pulse-none' \(command)"
        }
        let pid = try Self.spawn(
            ["/usr/sbin/ip", "netns", "exec", lab.namespace(process.name), "/bin/sh", "-c", "exec \(command)"],
            log: "\(directory)/logs/\(process.name).log")
        pids.withLock { $0[process.name] = pid }
        launched.withLock { $0.append(pid) }
        guard let address = lab.address(process.name) else { throw DeploymentRunError("\(process.name) has no address") }
        let deadline = ContinuousClock.now + readyWithin
        while true {
            if Self.exited(pid) {
                pids.withLock { _ = $0.removeValue(forKey: process.name) }
                throw DeploymentRunError("\(process.name) exited before it was ready; its log ends:\n\(log(of: process.name))")
            }
            if Readiness.isReady(address: address, port: process.port, path: process.readyPath) { return }
            guard ContinuousClock.now < deadline else {
                throw DeploymentRunError("\(process.name) was not ready within \(readyWithin); its log ends:\n\(log(of: process.name))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Starts `arguments` with its output appended to `log`; its pid. Throws ``DeploymentRunError``.
    private static func spawn(_ arguments: [String], log: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        Self.closeOnExec()
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw DeploymentRunError("cannot start \(arguments[0]): error \(spawned)") }
        return pid
    }

    /// Marks every descriptor of this process above standard error close-on-exec, so that a
    /// child inherits none: an inherited one (a socket by which whoever started this process
    /// learns that it exited, a listening socket) would outlive this process in the child.
    private static func closeOnExec() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for descriptor in names.compactMap({ Int32($0) }) where descriptor > 2 {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// Whether `pid` has exited (reaping it if so).
    private static func exited(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let reaped = waitpid(pid, &status, WNOHANG)
        return reaped == pid || reaped < 0
    }

    /// Waits until `pid` has exited, then removes what libfaketime and libmongoc left of it in
    /// shared memory (a process killed with SIGKILL removes nothing; libfaketime leaves its files
    /// on some exits too).
    private func reap(_ pid: pid_t) async {
        while !Self.exited(pid) { try? await Task.sleep(for: .milliseconds(10)) }
        for leftover in ["/dev/shm/faketime_shm_\(pid)", "/dev/shm/sem.faketime_sem_\(pid)", "/dev/shm/mongoc-\(pid)"] { unlink(leftover) }
    }
}

/// Why a deployment could not start or act.
public struct DeploymentRunError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
