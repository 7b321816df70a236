import ArgumentParser
import Foundation
import PulseHistory

/// `pulse check FILE`: checks any history file against every invariant.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a history (JSON Lines, HISTORY.md) against every invariant and for linearizable seats; exit 1 if one is broken.",
        discussion: """
            Works on any history, including ones recorded by other tools, as long as it follows HISTORY.md. \
            Each invariant is reported ok, FAIL, or "not checked" when the history holds nothing it examines \
            (no grants, no checkouts, no subscriber's messages...): a clean result there means nothing. \
            Then every seat is checked for linearizability: one order of its operations, each at one instant \
            between its request and its answer, must explain every answer and every read; each seat is ok, \
            violated or unknown (the search ran out of budget, or the history holds faults the model cannot \
            place). Exit status: 0 when no invariant is broken and no seat violated, 1 otherwise, 2 when the \
            file cannot be read or parsed or holds no records.
            """)

    @Argument(help: "The history file (JSON Lines).") var file: String
    @Option(help: "Also write a single-file HTML report: a timeline per seat, every violation's witnesses highlighted and linked to their lines.")
    var html: String?
    @Option(
        help:
            "How far a hold's expiry may be from its expires_at_ns, in milliseconds: the server's clock against the history's (0 in the simulator); the larger of this and the history's own clock_skew_ns (wire mode measures it) is used."
    )
    var skewMs: Int = 0

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { return try unusable("cannot read \(file)") }
        let records: [HistoryRecord]
        do {
            records = try HistoryReader.parse(String(decoding: data, as: UTF8.self))
        } catch let error as HistoryReadError {
            return try unusable("\(file): \(error)")
        }
        guard !records.isEmpty else { return try unusable("\(file) holds no records: nothing to check") }
        let index = HistoryIndex(records)
        let violations = HistoryChecker.check(index)
        let evidence = HistoryChecker.evidence(index)
        print("\(file): \(records.count) records")
        for invariant in Invariant.allCases {
            let found = violations.filter { $0.invariant == invariant }
            let verdict = !found.isEmpty ? "FAIL" : evidence[invariant, default: 0] == 0 ? "not checked" : "ok"
            let detail = !found.isEmpty ? " (\(found.count))" : verdict == "not checked" ? " (nothing in this history to check)" : ""
            print("  \(verdict.padding(toLength: 11, withPad: " ", startingAt: 0)) \(invariant.rawValue)\(detail)")
        }
        for violation in violations.prefix(50) { print("  - \(violation)") }
        if violations.count > 50 { print("  ... and \(violations.count - 50) more") }
        let skewNs = Int64(skewMs) * 1_000_000
        let linearizability = Linearizability.check(index, skewNs: skewNs)
        print("  linearizable seats: \(linearizability.counts) (of \(linearizability.seats.count))")
        for seat in linearizability.violations.prefix(20) { print("  - \(seat.event) \(seat.seat): \(seat.explanation ?? "")") }
        if linearizability.violations.count > 20 { print("  ... and \(linearizability.violations.count - 20) more") }
        for reason in Set(linearizability.seats.filter { $0.verdict == .unknown }.compactMap(\.explanation)).sorted() {
            print("  unknown: \(reason)")
        }
        if let html {
            let report = HistoryHTMLReport(title: "pulse check \((file as NSString).lastPathComponent)", records: records, skewNs: skewNs)
            try Data(report.html().utf8).write(to: URL(fileURLWithPath: html))
            print("report: \(html)")
        }
        if !violations.isEmpty || !linearizability.violations.isEmpty { throw ExitCode(1) }
    }

    private func unusable(_ message: String) throws {
        FileHandle.standardError.write(Data("pulse check: \(message)\n".utf8))
        throw ExitCode(2)
    }
}
