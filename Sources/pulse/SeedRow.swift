import Foundation
import PulseHistory
import PulseScenario
import PulseSim

/// One seed of `pulse sim`: the summary table's row and its entry in `--report`'s summary.json.
struct SeedRow: Encodable {
    var seed: UInt64
    /// The fault mix a swarm drew for this seed.
    var swarm: SwarmDraw?
    var counts: HistoryCounts
    var violations: [String]
    /// Seats no order of their operations explains (``Linearizability``): "event seat: why".
    var nonLinearizableSeats: [String]
    var virtualSeconds: Double
    var wallSeconds: Double
    var steps: Int

    init(
        simulation: SimConfiguration, swarm: SwarmDraw?, outcome: SimRunner.Outcome, violations: [Violation],
        nonLinearizable: [LinearizabilityReport.SeatResult], wallSeconds: Double
    ) {
        seed = simulation.seed
        self.swarm = swarm
        counts = HistoryCounts(outcome.history)
        self.violations = violations.map(\.description)
        nonLinearizableSeats = nonLinearizable.map { "\($0.event) \($0.seat): \($0.explanation ?? "")" }
        virtualSeconds = Double(outcome.virtualMs) / 1000
        self.wallSeconds = wallSeconds
        steps = outcome.steps
    }

    private enum CodingKeys: String, CodingKey { case seed, swarm, violations, nonLinearizableSeats, virtualSeconds, wallSeconds, steps }

    /// The counts sit beside the other fields in summary.json, not nested.
    func encode(to encoder: any Encoder) throws {
        try counts.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seed, forKey: .seed)
        try container.encodeIfPresent(swarm, forKey: .swarm)
        try container.encode(violations, forKey: .violations)
        try container.encode(nonLinearizableSeats, forKey: .nonLinearizableSeats)
        try container.encode(virtualSeconds, forKey: .virtualSeconds)
        try container.encode(wallSeconds, forKey: .wallSeconds)
        try container.encode(steps, forKey: .steps)
    }

    static let header =
        "    seed   records  holds ok  refused  bookings  unknown  faults  violations  non-lin  virtual s   wall s    steps  steps/s  virtual/wall  swarm"

    var line: String {
        String(
            format: "%8llu  %8d  %8d  %7d  %8d  %7d  %6d  %10d  %7d  %9.1f  %7.2f  %7d  %7.0f  %12.0f", seed, counts.records, counts.holdsGranted,
            counts.holdsRefused, counts.bookings, counts.unanswered, counts.faults, violations.count, nonLinearizableSeats.count, virtualSeconds,
            wallSeconds, steps,
            Double(steps) / max(wallSeconds, 1e-9), virtualSeconds / max(wallSeconds, 1e-9)) + (swarm.map { "  \($0.summary)" } ?? "")
    }
}

/// What a history holds, counted for summaries (`pulse sim`, deterministic and wire mode).
struct HistoryCounts: Encodable {
    var records: Int
    var holdsGranted: Int
    var holdsRefused: Int
    var bookings: Int
    /// Requests whose outcome the client never learned (`info`).
    var unanswered: Int
    var faults: Int

    init(_ history: [HistoryRecord]) {
        records = history.count
        holdsGranted = history.filter { $0.type == .ok && $0.f == "hold" }.count
        holdsRefused = history.filter { $0.type == .fail && $0.f == "hold" }.count
        bookings = history.filter { $0.type == .ok && $0.f == "checkout" }.count
        unanswered = history.filter { $0.type == .info }.count
        faults = history.filter { $0.type == .fault }.count
    }
}

/// Writes a history as JSON Lines (HISTORY.md).
func writeHistory(_ history: [HistoryRecord], to path: String) throws {
    try history.map(HistoryReader.encode).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
}

/// A one-line progress bar on standard error, shown only on a terminal and at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    let enabled: Bool
    private let lock = NSLock()
    private var lastDrawn = ContinuousClock.now - .seconds(1)

    init(enabled: Bool) { self.enabled = enabled && isatty(STDERR_FILENO) == 1 }

    func show(seed: UInt64, _ progress: SimRunner.Progress) {
        lock.lock()
        defer { lock.unlock() }
        guard ContinuousClock.now - lastDrawn >= .milliseconds(100) else { return }
        lastDrawn = .now
        let done = progress.users == 0 ? 1 : Double(progress.usersDone) / Double(progress.users)
        let width = 30
        let filled = Int(done * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(
            Data(
                String(
                    format: "\r  seed %llu [%@] %3.0f%% users done, %.1f virtual s, %d steps ", seed, bar, done * 100,
                    Double(progress.virtualMs) / 1000, progress.steps
                ).utf8))
    }

    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
