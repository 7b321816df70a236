import ArgumentParser
import Foundation
import PulseBench
import PulseWire

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the reference server (results are ratios against a reference measured in the same run).",
        subcommands: [FanoutCommand.self])
}

/// `pulse bench fanout`: live fan-out latency at several subscriber counts.
struct FanoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "Time for one seat change to reach N WebSocket subscribers.",
        discussion: """
            Starts a `pulse serve` child on a free loopback port (embedded stores) unless --target is
            given, connects the subscribers from this process, triggers changes one at a time over
            REST and reports per-delivery and per-change latency. The first subscriber count is the
            reference: later rows show their p99 as a multiple of its p99. Every subscriber must
            receive every change in seq order, or the run fails. Needs an open-file limit above
            the largest count (ulimit -n).
            """)

    @Option(help: "Comma-separated subscriber counts; the first is the reference.") var subscribers: String = "1,1000,10000"
    @Option(help: "Seat changes measured per count.") var changes: Int = 50
    @Option(help: "A running server's URL instead of a child (needs --admin-email and --admin-password).") var target: String?
    @Option(help: "Admin email on --target.") var adminEmail: String?
    @Option(help: "Admin password on --target (or PULSE_ADMIN_PASSWORD).") var adminPassword: String?

    func run() async throws {
        let counts = subscribers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ (1...50_000).contains($0) }) else { throw ValidationError("--subscribers must list counts 1...50000") }
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
            benchmark = FanoutBenchmark(api: PulseAPIClient(baseURL: server.baseURL), adminEmail: server.adminEmail, adminPassword: server.adminPassword)
        }
        defer { child?.stop() }
        print("fan-out: \(changes) changes per row, latency from sending the REST request to receipt by each subscriber")
        print("subscribers  connect s  delivery p50 ms  p99 ms  max ms  all-reached p50 ms  max ms  p99 vs first")
        var reference: Double?
        for count in counts {
            let result = try await benchmark.run(subscribers: count, changes: changes)
            let ratio = reference.map { String(format: "%.1fx", result.delivery.p99Ms / max($0, 0.001)) } ?? "reference"
            reference = reference ?? result.delivery.p99Ms
            print(String(format: "%11d  %9.1f  %15.2f  %6.2f  %6.2f  %18.2f  %6.2f  %@", count, result.connectSeconds, result.delivery.p50Ms,
                         result.delivery.p99Ms, result.delivery.maxMs, result.completion.p50Ms, result.completion.maxMs, ratio))
        }
    }
}
