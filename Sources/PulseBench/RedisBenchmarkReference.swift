import Foundation
import PulseWire

/// Runs `redis-benchmark` with one command and reads its CSV line: the reference rate of a
/// Redis command measured by Redis' own tool in the same run.
public enum RedisBenchmarkReference {
    public struct Result: Sendable {
        public var requestsPerSecond: Double
        public var p50Ms: Double
        public var p99Ms: Double
    }

    /// `redis-benchmark -p port -c concurrency -n requests -r 100000000 --csv command...`.
    /// Throws ``APIError`` when the tool fails or prints no figures.
    public static func run(executable: String = "redis-benchmark", port: Int, concurrency: Int, requests: Int, command: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                executable, "-h", "127.0.0.1", "-p", String(port), "-c", String(concurrency), "-n", String(requests),
                "-r", "100000000", "--csv",
            ] + command
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        guard process.awaitExit(within: 30) else {
            process.killAndAwaitExit()
            throw APIError("redis-benchmark did not exit within 30 s of closing its output")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard process.terminationStatus == 0, let line = lines.last(where: { !$0.hasPrefix("\"test\"") }) else {
            throw APIError("redis-benchmark failed: \(String(decoding: data, as: UTF8.self).suffix(300))")
        }
        let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        guard fields.count >= 7, let rps = Double(fields[1]), let p50 = Double(fields[4]), let p99 = Double(fields[6]) else {
            throw APIError("unreadable redis-benchmark output: \(line)")
        }
        return Result(requestsPerSecond: rps, p50Ms: p50, p99Ms: p99)
    }
}
