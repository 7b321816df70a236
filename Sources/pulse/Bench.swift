import ArgumentParser
import AsyncHTTPClient
import Foundation
import PulseBench
import PulseEngine
import PulseRedis
import PulseWire

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the reference server (results are ratios against a reference measured in the same run).",
        subcommands: [
            FlashSaleCommand.self, FanoutCommand.self, HoldsCommand.self, CheckoutsCommand.self, SimBenchCommand.self, CheckerBenchCommand.self,
        ])
}

/// `pulse bench fanout`: live fan-out latency at several subscriber counts.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Time for one seat change to reach N WebSocket subscribers.",
        discussion: """
            Starts a `pulse serve` child on a free loopback port (embedded stores) unless --target is \
            given, connects the subscribers from this process, triggers changes one at a time over \
            REST and reports per-delivery and per-change latency. The first subscriber count is the \
            reference: later rows show their p99 as a multiple of its p99. Every subscriber must \
            receive every change in seq order, or the run fails. Needs an open-file limit above \
            the largest count (ulimit -n).
            """)

    @Option(help: "Comma-separated subscriber counts; the first is the reference.") var subscribers: String = "1,1000,10000"
    @Option(help: "Seat changes measured per count.") var changes: Int = 50
    @Option(help: "A running server's URL instead of a child (needs --admin-email and --admin-password).") var target: String?
    @Option(help: "Admin email on --target.") var adminEmail: String?
    @Option(help: "Admin password on --target (or PULSE_ADMIN_PASSWORD).") var adminPassword: String?

    func run() async throws {
        let counts = subscribers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ (1...50_000).contains($0) }) else {
            throw ValidationError("--subscribers must list counts 1...50000")
        }
        guard (1...10_000).contains(changes) else { throw ValidationError("--changes must be 1...10000") }
        var child: ServerProcess?
        let benchmark: FanoutBenchmark
        if let target {
            guard let email = adminEmail, let password = adminPassword ?? environment("PULSE_ADMIN_PASSWORD") else {
                throw ValidationError("--target needs --admin-email and --admin-password")
            }
            benchmark = FanoutBenchmark(api: PulseAPIClient(baseURL: target), adminEmail: email, adminPassword: password)
        } else {
            let server = try await ServerProcess(executable: ServerProcess.currentExecutable)
            child = server
            benchmark = FanoutBenchmark(
                api: PulseAPIClient(baseURL: server.baseURL), adminEmail: server.adminEmail, adminPassword: server.adminPassword)
        }
        defer { child?.stop() }
        print("fan-out: \(changes) changes per row, latency from sending the REST request to receipt by each subscriber")
        print("subscribers  connect s  delivery p50 ms  p99 ms  max ms  all-reached p50 ms  max ms  p99 vs first")
        var reference: Double?
        for count in counts {
            let result = try await benchmark.run(subscribers: count, changes: changes)
            let ratio = reference.map { String(format: "%.1fx", result.delivery.p99Ms / max($0, 0.001)) } ?? "reference"
            reference = reference ?? result.delivery.p99Ms
            print(
                String(
                    format: "%11d  %9.1f  %15.2f  %6.2f  %6.2f  %18.2f  %6.2f  %@", count, result.connectSeconds, result.delivery.p50Ms,
                    result.delivery.p99Ms, result.delivery.maxMs, result.completion.p50Ms, result.completion.maxMs, ratio))
        }
    }
}

/// `pulse bench holds`: hold requests per second through HTTP into Redis, against
/// `redis-benchmark` calling the same hold script in the same run.
struct HoldsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "holds",
        abstract: "Hold requests per second through HTTP into Redis, against redis-benchmark on the same script.",
        discussion: """
            Starts a redis-server and a `pulse serve --redis` child on free loopback ports, creates \
            64 events of 1,300 seats and one user per client, then for each concurrency runs that \
            many HTTP clients (each one request at a time, one random seat per hold) for --seconds, \
            and right after it `redis-benchmark` with the same number of connections calling the \
            hold script by EVALSHA with random seats, users and hold ids. The last column is the \
            server's rate as a fraction of redis-benchmark's. Needs redis-server and \
            redis-benchmark on PATH (Debian: redis-server, redis-tools).
            """)

    @Option(help: "Comma-separated client counts.") var concurrency: String = "16,64,256"
    @Option(help: "Seconds of HTTP load per count.") var seconds: Double = 5
    @Option(help: "Requests redis-benchmark sends per count.") var referenceRequests: Int = 100_000

    func run() async throws {
        let counts = try loadCounts(concurrency: concurrency, seconds: seconds, allowed: 1...1024)
        let redis = try await RedisServerProcess()
        defer { redis.stop() }
        let server = try await ServerProcess(
            executable: ServerProcess.currentExecutable,
            arguments: ["--redis", redis.url, "--hold-ttl", "5", "--max-held-seats", "1300"])
        defer { server.stop() }
        try await withLoadClient(connections: counts.max()!) { http in
            let api = PulseAPIClient(baseURL: server.baseURL, http: http)
            let benchmark = try await HoldsBenchmark.prepare(
                api: api, adminEmail: server.adminEmail, adminPassword: server.adminPassword,
                eventCount: 64, users: counts.max()!)
            let client = RedisClient(try RedisConfiguration(url: redis.url))
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            let command = try await RedisHotStore.benchmarkHoldCommand(client: client, eventID: "benchmark-reference", generation: 1, nowMs: nowMs)
            await client.close()
            print("holds: HTTP \(seconds) s per row (granted + conflicts); reference: redis-benchmark -n \(referenceRequests) EVALSHA <hold script>")
            print("clients  HTTP holds/s  p50 ms  p99 ms  granted  conflicts  redis-benchmark/s  p50 ms  p99 ms  HTTP/reference")
            for count in counts {
                let result = try await benchmark.run(concurrency: count, seconds: seconds)
                let reference = try RedisBenchmarkReference.run(port: redis.port, concurrency: count, requests: referenceRequests, command: command)
                print(
                    String(
                        format: "%7d  %12.0f  %6.2f  %6.2f  %7d  %9d  %17.0f  %6.3f  %6.3f  %14.2f", count, result.requestsPerSecond,
                        result.latency.p50Ms, result.latency.p99Ms, result.granted, result.conflicts, reference.requestsPerSecond,
                        reference.p50Ms, reference.p99Ms, result.requestsPerSecond / reference.requestsPerSecond))
            }
        }
    }
}

/// `pulse bench flash-sale`: holds, health, join storms and fan-out against a seed-style Node peer.
struct FlashSaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash-sale",
        abstract: "A flash sale on a 26 x 50 venue against Pulse and a seed-style Node peer, with the same load generators.",
        discussion: """
            Starts a redis-server, the seed-style peer (bench/peers/seed-peer.js: express, node-redis \
            SET NX EX per seat, ws rooms, the seed's MGET seat map; no auth, no database) and a Node \
            http hello-world, then `pulse serve` children (embedded, then --redis). For each target: \
            wrk with bench/load/holds.lua (one random seat per request, many users, bearer tokens \
            for Pulse); wrk on GET /healthz; and bench/load/live-load.js, one separate Node process, \
            opening N WebSocket clients at once that each join the event and wait for its full \
            snapshot, then timing seat changes to every subscriber. Every figure is also shown as a \
            ratio to the peer measured in this run. Needs wrk, nodejs, node-express, node-ws, \
            node-redis and redis-server (Debian), and an open-file limit above the largest count. \
            Run it from the repository root (or give --bench-dir).
            """)

    @Option(help: "The repository's bench directory.") var benchDir = "bench"
    @Option(help: "Seconds of wrk load per holds row.") var seconds = 10
    @Option(help: "wrk connections.") var connections = 64
    @Option(help: "Users (Pulse tokens) making the holds.") var users = 200
    @Option(help: "Comma-separated join-storm sizes.") var joins = "1000,5000,10000"
    @Option(help: "Seat changes timed for fan-out per storm.") var changes = 5
    @Option(help: "Pulse stores to measure: embedded, redis or both.") var stores = "embedded,redis"
    @Option(help: "Also write the tables to this Markdown file.") var markdown: String?

    func run() async throws {
        var options = FlashSaleBenchmark.Options(pulseExecutable: ServerProcess.currentExecutable)
        options.benchDirectory = benchDir
        options.holdSeconds = seconds
        options.connections = connections
        options.users = users
        options.joinCounts = joins.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        options.changes = changes
        options.pulseTargets = try stores.split(separator: ",").map { name in
            guard let target = FlashSaleBenchmark.PulseTarget(rawValue: String(name)) else {
                throw ValidationError("--stores lists embedded and/or redis")
            }
            return target
        }
        guard options.joinCounts.allSatisfy({ (1...50_000).contains($0) }), (1...100).contains(changes), (1...600).contains(seconds) else {
            throw ValidationError("--joins counts must be 1...50000, --changes 1...100, --seconds 1...600")
        }
        guard FileManager.default.fileExists(atPath: "\(benchDir)/peers/seed-peer.js") else {
            throw ValidationError("no \(benchDir)/peers/seed-peer.js: run from the repository root or give --bench-dir")
        }
        let report = try await FlashSaleBenchmark(options).run { print($0) }
        print(report.markdown)
        if let markdown { try report.markdown.write(toFile: markdown, atomically: true, encoding: .utf8) }
    }
}
