import Foundation
import PulseWire

/// `pulse bench flash-sale`: the first minute of a flash sale on a 26 x 50 venue, against Pulse and
/// a seed-style Node peer (bench/peers/seed-peer.js) in the same run, with the same load generators:
/// `wrk` and bench/load/holds.lua for HTTP holds (many users, random seats), `wrk` for
/// `GET /healthz` (with a plain Node hello-world as the floor), and bench/load/live-load.js (one
/// separate Node process) for join storms and fan-out.
public struct FlashSaleBenchmark {
    public struct Options: Sendable {
        /// The repository's `bench` directory (peers and load scripts).
        public var benchDirectory = "bench"
        public var pulseExecutable: String
        public var holdSeconds = 10
        public var connections = 64
        public var users = 200
        public var joinCounts = [1_000, 5_000, 10_000]
        public var changes = 5
        /// Hold (lock) TTL of every target, in seconds: short, so seats churn during the run.
        public var holdTTLSeconds = 2
        public var pulseTargets: [PulseTarget] = [.embedded, .redis]
        public init(pulseExecutable: String) { self.pulseExecutable = pulseExecutable }
    }

    public enum PulseTarget: String, Sendable, CaseIterable {
        case embedded, redis
        var label: String { "pulse (\(rawValue))" }
    }

    public struct LiveRow: Sendable {
        public var target: String
        public var count: Int
        public var allJoinedSeconds: Double
        public var joinP99Ms: Double
        public var failures: Int
        public var fanoutP50Ms: Double
        public var fanoutP99Ms: Double
        public var missing: Int
        public var bytesPerConnection: Double
    }

    public struct Report: Sendable {
        public var holds: [(target: String, result: WrkResult)] = []
        public var health: [(target: String, result: WrkResult)] = []
        public var live: [LiveRow] = []
    }

    let options: Options
    public init(_ options: Options) { self.options = options }

    private var rows: Int { 26 }
    private var cols: Int { 50 }

    /// Runs every phase; `log` hears progress lines.
    public func run(log: (String) -> Void) async throws -> Report {
        var report = Report()
        let redis = try await RedisServerProcess()
        defer { redis.stop() }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-flash-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let peer = try NodeProcess(
            script: "\(options.benchDirectory)/peers/seed-peer.js",
            environment: ["REDIS_URL": redis.url, "LOCK_TTL": "\(options.holdTTLSeconds)"])
        defer { peer.stop() }
        let hello = try NodeProcess(script: "\(options.benchDirectory)/peers/hello.js")
        defer { hello.stop() }
        let holdsScript = "\(options.benchDirectory)/load/holds.lua"

        log("holds: wrk -c\(options.connections) \(options.holdSeconds) s, one random seat of \(rows) x \(cols) per request, \(options.users) users")
        let peerHolds = try WrkResult.run(
            url: peer.baseURL, connections: options.connections, seconds: options.holdSeconds, script: holdsScript,
            environment: ["BENCH_MODE": "peer", "BENCH_EVENT": "holds", "BENCH_USERS": "\(options.users)"])
        report.holds.append(("seed-style peer", peerHolds))
        for target in options.pulseTargets {
            let server = try await startPulse(target, redis: redis)
            defer { server.stop() }
            let session = try await PulseSession.prepare(server: server, users: options.users, rows: rows, cols: cols)
            let tokens = work.appendingPathComponent("tokens-\(target.rawValue)")
            try session.tokens.joined(separator: "\n").write(to: tokens, atomically: true, encoding: .utf8)
            let event = try await session.newEvent()
            let result = try WrkResult.run(
                url: server.baseURL, connections: options.connections, seconds: options.holdSeconds, script: holdsScript,
                environment: ["BENCH_MODE": "pulse", "BENCH_EVENT": event, "BENCH_TOKENS": tokens.path])
            report.holds.append((target.label, result))
            if target == .embedded {
                log("health: wrk -c\(options.connections) GET /healthz")
                report.health.append(
                    (target.label, try WrkResult.run(url: server.baseURL + "/healthz", connections: options.connections, seconds: 5)))
                report.health.append(
                    ("seed-style peer", try WrkResult.run(url: peer.baseURL + "/healthz", connections: options.connections, seconds: 5)))
                report.health.append(
                    ("node http hello-world", try WrkResult.run(url: hello.baseURL + "/", connections: options.connections, seconds: 5)))
            }
            for count in options.joinCounts {
                log("live: \(target.label), \(count) clients join at once, then \(options.changes) changes")
                report.live.append(
                    try await live(
                        target.label, count: count, base: server.baseURL, pid: server.processIdentifier, mode: "pulse",
                        event: try await session.newEvent(), tokens: session.tokens))
            }
        }
        for count in options.joinCounts {
            log("live: seed-style peer, \(count) clients join at once, then \(options.changes) changes")
            report.live.append(
                try await live(
                    "seed-style peer", count: count, base: peer.baseURL, pid: peer.processIdentifier, mode: "peer",
                    event: "live-\(count)", tokens: ["-"]))
        }
        return report
    }

    private func startPulse(_ target: PulseTarget, redis: RedisServerProcess) async throws -> ServerProcess {
        var arguments = ["--hold-ttl", "\(options.holdTTLSeconds)"]
        if target == .redis { arguments += ["--redis", redis.url] }
        return try await ServerProcess(executable: options.pulseExecutable, arguments: arguments)
    }

    private func live(_ target: String, count: Int, base: String, pid: Int32, mode: String, event: String, tokens: [String]) async throws -> LiveRow {
        let config: [String: Any] = [
            "mode": mode, "base": base, "eventId": event, "tokens": tokens, "count": count, "changes": options.changes,
            "seats": (1...options.changes).map { "Z\($0)" }, "serverPid": Int(pid), "expectSeats": rows * cols,
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let output = try runToCompletion(
            NodeProcess.executable, ["\(options.benchDirectory)/load/live-load.js", json],
            environment: ["NODE_PATH": ProcessInfo.processInfo.environment["NODE_PATH"] ?? "/usr/share/nodejs"])
        guard let line = output.split(separator: "\n").last, let result = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let storm = result["storm"] as? [String: Any], let fanout = result["fanout"] as? [String: Any],
            let memory = result["memory"] as? [String: Any]
        else {
            throw APIError("live-load.js said: \(output.suffix(400))")
        }
        func number(_ object: [String: Any], _ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? .nan }
        return LiveRow(
            target: target, count: count, allJoinedSeconds: number(storm, "allJoinedSeconds"), joinP99Ms: number(storm, "p99Ms"),
            failures: Int(number(storm, "failures")), fanoutP50Ms: number(fanout, "p50Ms"), fanoutP99Ms: number(fanout, "p99Ms"),
            missing: Int(number(fanout, "missing")),
            bytesPerConnection: (number(memory, "rssJoined") - number(memory, "rssBefore")) / Double(count))
    }
}

/// An admin and `users` signed-up users of a Pulse child, and fresh 26 x 50 events on demand.
struct PulseSession {
    let api: PulseAPIClient
    let adminToken: String
    let tokens: [String]
    let rows: Int
    let cols: Int

    static func prepare(server: ServerProcess, users: Int, rows: Int, cols: Int) async throws -> PulseSession {
        let api = PulseAPIClient(baseURL: server.baseURL)
        let admin = try await api.login(email: server.adminEmail, password: server.adminPassword)
        var tokens: [String] = []
        for index in 0..<users {
            tokens.append(
                try await api.signup(name: "Buyer \(index)", email: "buyer\(index)@bench.invalid", password: "bench-password-\(index)").token)
        }
        return PulseSession(api: api, adminToken: admin, tokens: tokens, rows: rows, cols: cols)
    }

    func newEvent() async throws -> String {
        try await api.createEvent(adminToken: adminToken, title: "Flash sale", rows: rows, cols: cols, price: 10)
    }
}

extension FlashSaleBenchmark.Report {
    /// The report as Markdown tables, each row also as a ratio to the seed-style peer of this run.
    public var markdown: String {
        func ratio(_ value: Double, _ reference: Double?, higherIsBetter: Bool) -> String {
            guard let reference, reference > 0, value > 0, value.isFinite else { return "-" }
            return String(format: "%.2fx", higherIsBetter ? value / reference : reference / value)
        }
        let peerHolds = holds.first { $0.target == "seed-style peer" }?.result.requestsPerSecond
        var text = "| holds through HTTP | requests/s | p50 ms | p99 ms | 2xx | 4xx | 5xx | vs peer |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
        for (target, result) in holds {
            text += String(
                format: "| %@ | %.0f | %.2f | %.2f | %d | %d | %d | %@ |\n", target, result.requestsPerSecond, result.p50Ms, result.p99Ms,
                result.statuses["2xx"] ?? 0, result.statuses["4xx"] ?? 0, result.statuses["5xx"] ?? 0,
                target == "seed-style peer" ? "reference" : ratio(result.requestsPerSecond, peerHolds, higherIsBetter: true))
        }
        let floor = health.first { $0.target == "node http hello-world" }?.result.requestsPerSecond
        text += "\n| GET /healthz | requests/s | p99 ms | vs hello-world |\n|---|---:|---:|---:|\n"
        for (target, result) in health {
            text += String(
                format: "| %@ | %.0f | %.2f | %@ |\n", target, result.requestsPerSecond, result.p99Ms,
                target == "node http hello-world" ? "reference" : ratio(result.requestsPerSecond, floor, higherIsBetter: true))
        }
        text +=
            "\n| live | clients | all joined s | join p99 ms | failed | fan-out p50 ms | p99 ms | missing | KB per connection | join vs peer | fan-out p99 vs peer |\n"
        text += "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for row in live {
            let peer = live.first { $0.target == "seed-style peer" && $0.count == row.count }
            let isPeer = row.target == "seed-style peer"
            text += String(
                format: "| %@ | %d | %.2f | %.0f | %d | %.1f | %.1f | %d | %.1f | %@ | %@ |\n", row.target, row.count, row.allJoinedSeconds,
                row.joinP99Ms,
                row.failures, row.fanoutP50Ms, row.fanoutP99Ms, row.missing, row.bytesPerConnection / 1024,
                isPeer ? "reference" : ratio(row.allJoinedSeconds, peer?.allJoinedSeconds, higherIsBetter: false),
                isPeer ? "reference" : ratio(row.fanoutP99Ms, peer?.fanoutP99Ms, higherIsBetter: false))
        }
        return text
    }
}
