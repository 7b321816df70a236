import Foundation
import PulseWire

/// One `wrk` run (Debian's wrk, the same small C client for every target) and what it reported.
public struct WrkResult: Sendable {
    public var requestsPerSecond: Double
    public var p50Ms: Double
    public var p99Ms: Double
    /// Answers by class, from the holds script's `statuses` line (empty for plain GETs).
    public var statuses: [String: Int]

    /// Runs `wrk -t2 -c<connections> -d<seconds>s --latency [-s script] url` with `environment`.
    public static func run(url: String, connections: Int, seconds: Int, script: String? = nil, environment: [String: String] = [:]) throws
        -> WrkResult
    {
        var arguments = ["-t2", "-c\(connections)", "-d\(seconds)s", "--latency", "--timeout", "10s"]
        if let script { arguments += ["-s", script] }
        let output = try runToCompletion(executable, arguments + [url], environment: environment)
        return try parse(output)
    }

    /// Reads wrk's report: `Requests/sec:`, the 50% and 99% lines of `--latency`, and `statuses`.
    static func parse(_ output: String) throws -> WrkResult {
        var result = WrkResult(requestsPerSecond: 0, p50Ms: 0, p99Ms: 0, statuses: [:])
        for line in output.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if line.hasPrefix("Requests/sec:"), fields.count == 2 { result.requestsPerSecond = Double(fields[1]) ?? 0 }
            if fields.count == 2, fields[0] == "50%" { result.p50Ms = milliseconds(fields[1]) }
            if fields.count == 2, fields[0] == "99%" { result.p99Ms = milliseconds(fields[1]) }
            if fields.first == "statuses" {
                for pair in fields.dropFirst() {
                    let parts = pair.split(separator: "=")
                    if parts.count == 2 { result.statuses[String(parts[0])] = Int(parts[1]) }
                }
            }
        }
        guard result.requestsPerSecond > 0 else { throw APIError("wrk reported no rate: \(output.suffix(400))") }
        return result
    }

    /// `1.97ms`, `850.00us`, `1.20s` in milliseconds.
    static func milliseconds(_ text: String) -> Double {
        for (suffix, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] where text.hasSuffix(suffix) {
            return (Double(text.dropLast(suffix.count)) ?? 0) * scale
        }
        return Double(text) ?? 0
    }

    /// The wrk executable (PATH, then /usr/bin/wrk).
    public static var executable: String { executablePath("wrk") }
}
