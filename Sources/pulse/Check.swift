import ArgumentParser
import Foundation
import PulseHistory
import PulseSim

/// `pulse check FILE`: checks any history file against every invariant.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a history (JSON Lines, HISTORY.md) against every invariant; exit 1 if one is broken.",
        discussion: "Works on any history, including ones recorded by other tools, as long as it follows HISTORY.md.")

    @Argument(help: "The history file (JSON Lines).") var file: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let records: [HistoryRecord]
        do {
            records = try HistoryReader.parse(String(decoding: data, as: UTF8.self))
        } catch let error as HistoryReadError {
            throw ValidationError("\(file): \(error)")
        }
        let violations = HistoryChecker.check(records)
        print("\(file): \(records.count) records")
        for invariant in Invariant.allCases {
            let found = violations.filter { $0.invariant == invariant }
            print(String(format: "  %@ %@", (found.isEmpty ? "ok  " : "FAIL").padding(toLength: 4, withPad: " ", startingAt: 0),
                         invariant.rawValue + (found.isEmpty ? "" : " (\(found.count))")))
        }
        for violation in violations.prefix(50) { print("  - \(violation)") }
        if violations.count > 50 { print("  ... and \(violations.count - 50) more") }
        if !violations.isEmpty { throw ExitCode(1) }
    }
}
