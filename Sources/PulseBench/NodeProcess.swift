import Foundation
import PulseWire

/// A Node.js child (`node SCRIPT`) for the benchmarks' peers: it must print `listening <port>`
/// on its first line once it serves on 127.0.0.1. Debian's modules (node-express, node-ws,
/// node-redis) are found through `NODE_PATH=/usr/share/nodejs`. Killed by ``stop()`` or when freed.
public final class NodeProcess: @unchecked Sendable {
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    public var processIdentifier: Int32 { process.processIdentifier }
    private let process = Process()

    /// Starts `node script` with `environment` added (PORT=0 unless given) and waits up to
    /// `readySeconds` for its `listening <port>` line. Throws when node is missing, exits or is slow.
    public init(script: String, environment: [String: String] = [:], readySeconds: Double = 20) throws {
        var env = ProcessInfo.processInfo.environment
        env["NODE_PATH"] = env["NODE_PATH"] ?? "/usr/share/nodejs"
        env["PORT"] = "0"
        env.merge(environment) { _, new in new }
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = [script]
        process.environment = env
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let deadline = Date().addingTimeInterval(readySeconds)
        var text = ""
        while Date() < deadline, process.isRunning {
            let chunk = output.fileHandleForReading.availableData
            text += String(decoding: chunk, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening ") }), let port = Int(line.dropFirst(10)) {
                self.port = port
                return
            }
            if chunk.isEmpty { usleep(20_000) }
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        throw APIError("node \(script) did not start: \(text.suffix(400))")
    }

    /// The node executable (PATH, then /usr/bin/node).
    public static var executable: String { executablePath("node") }

    public func stop() {
        guard process.isRunning else { return }
        process.killAndAwaitExit()
    }

    deinit { stop() }
}

/// Runs a command to completion and returns its standard output (standard error is passed through).
/// Throws when it cannot start or exits non-zero.
func runToCompletion(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { _, new in new }
    process.environment = env
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    guard process.awaitExit(within: 30) else {
        process.killAndAwaitExit()
        throw APIError("\(executable) \(arguments.first ?? "") did not exit within 30 s of closing its output")
    }
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw APIError("\(executable) \(arguments.first ?? "") exited with \(process.terminationStatus): \(text.suffix(400))")
    }
    return text
}
