#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs an operator's shell command (`/bin/sh -c`) and waits for the shell itself to exit, not for
/// whatever it left running: a restart command starts a server in the background, which keeps
/// every descriptor it inherited (Foundation's `Process` waits on one of those, so it would wait
/// for the server).
enum Shell {
    struct SpawnFailure: Error, CustomStringConvertible {
        var code: Int32
        var description: String { "cannot start /bin/sh: error \(code)" }
    }

    /// The shell's exit status. Throws ``SpawnFailure`` when it cannot start.
    static func run(_ command: String) async throws -> Int32 {
        var pid = pid_t()
        let arguments = ["/bin/sh", "-c", command]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, "/bin/sh", nil, nil, &argv, environ)
        guard spawned == 0 else { throw SpawnFailure(code: spawned) }
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 { return -1 }
            try await Task.sleep(for: .milliseconds(20))
        }
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        return status & 0x7f == 0 ? (status >> 8) & 0xff : -1
    }
}
