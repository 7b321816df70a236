import ArgumentParser
import PulseBench
import PulseWire

/// `pulse bench checkouts`: checkouts per second through HTTP on the SQLite durable store and on
/// MongoDB, in the same run.
struct CheckoutsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkouts",
        abstract: "Checkouts per second through HTTP on SQLite and on MongoDB, in the same run.",
        discussion: """
            Starts two `pulse serve` children on free loopback ports: one on SQLite in its own data \
            directory, one with --mongo (a SecantusDB server it starts, from secantusd-py on PATH or \
            .build/py-venv, unless --mongo names a MongoDB). Each gets 16 events of 1,300 seats and \
            one user per client; for each concurrency, that many clients each hold a random free seat \
            and check it out, one request at a time, for --seconds. The last column is MongoDB's rate \
            as a fraction of SQLite's.
            """)

    @Option(help: "Comma-separated client counts.") var concurrency: String = "8,32"
    @Option(help: "Seconds of load per count and store.") var seconds: Double = 5
    @Option(help: "A MongoDB URL to measure instead of starting SecantusDB.") var mongo: String?

    func run() async throws {
        let counts = try loadCounts(concurrency: concurrency, seconds: seconds, allowed: 1...512)
        let secantus = mongo == nil ? try await MongoServerProcess() : nil
        let mongoURL = mongo ?? secantus!.url(database: "bench")
        let sqliteServer = try await ServerProcess(executable: ServerProcess.currentExecutable)
        defer { sqliteServer.stop() }
        let mongoServer = try await ServerProcess(executable: ServerProcess.currentExecutable, arguments: ["--mongo", mongoURL])
        defer { mongoServer.stop() }
        try await withLoadClient(connections: counts.max()!) { http in
            var targets: [CheckoutsBenchmark] = []
            for server in [sqliteServer, mongoServer] {
                targets.append(
                    try await CheckoutsBenchmark.prepare(
                        api: PulseAPIClient(baseURL: server.baseURL, http: http), adminEmail: server.adminEmail,
                        adminPassword: server.adminPassword, eventCount: 16, users: counts.max()!))
            }
            print("checkouts: HTTP, \(seconds) s per row and store; MongoDB: \(secantus == nil ? "the given URL" : "SecantusDB (--sync-on-commit)")")
            print("clients  SQLite checkouts/s  p50 ms  p99 ms  MongoDB checkouts/s  p50 ms  p99 ms  MongoDB/SQLite")
            for count in counts {
                let sqlite = try await targets[0].run(concurrency: count, seconds: seconds)
                let mongo = try await targets[1].run(concurrency: count, seconds: seconds)
                print(
                    String(
                        format: "%7d  %18.0f  %6.2f  %6.2f  %19.0f  %6.2f  %6.2f  %14.2f", count, sqlite.checkoutsPerSecond, sqlite.latency.p50Ms,
                        sqlite.latency.p99Ms, mongo.checkoutsPerSecond, mongo.latency.p50Ms, mongo.latency.p99Ms,
                        mongo.checkoutsPerSecond / sqlite.checkoutsPerSecond))
            }
        }
    }
}
