import Foundation

extension ConformanceReport {
    /// The area of a clause: `PB-HOLD-4` -> `PB-HOLD`.
    static func area(_ clause: String) -> String { clause.split(separator: "-").prefix(2).joined(separator: "-") }

    /// Results grouped by clause area, areas in the order they first appear.
    public var byArea: [(area: String, results: [CaseResult])] {
        var order: [String] = []
        var groups: [String: [CaseResult]] = [:]
        for result in results {
            let area = Self.area(result.clause)
            if groups[area] == nil { order.append(area) }
            groups[area, default: []].append(result)
        }
        return order.map { ($0, groups[$0]!) }
    }

    /// The console table: one line per case grouped by clause area, the evidence of every case
    /// not OK, and the totals.
    public func consoleText() -> String {
        var lines = ["Pulse conformance of \(target) (test control: \(testControl ? "yes" : "no"), admin: \(admin ? "yes" : "no"))", ""]
        for (area, group) in byArea {
            lines.append(area)
            for result in group {
                lines.append(
                    "  " + result.grade.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
                        + result.clause.padding(toLength: 15, withPad: " ", startingAt: 0)
                        + result.id.padding(toLength: 34, withPad: " ", startingAt: 0)
                        + String(format: "%6.2f s  ", result.durationSeconds) + result.title)
                if result.grade != .ok {
                    for line in result.evidence.prefix(8) { lines.append("                  | " + line) }
                }
            }
        }
        lines.append("")
        lines.append(Grade.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ") + " of \(results.count) cases")
        let reasons = reasonsNotRun
        if !reasons.isEmpty {
            lines.append("Not run or undecided:")
            lines += reasons.map { "  \($0.grade.rawValue) ×\($0.count): \($0.reason)" }
        }
        lines.append(passed ? "PASSED: no MUST case failed" : "FAILED: \(counts[.failed] ?? 0) MUST case(s) failed")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The machine-readable report: target, capabilities and, per case, id, clause, grade,
    /// duration and evidence.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(
            JSONForm(
                target: target, testControl: testControl, admin: admin, passed: passed,
                counts: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }), cases: results))
    }

    private struct JSONForm: Encodable {
        var target: String
        var testControl: Bool
        var admin: Bool
        var passed: Bool
        var counts: [String: Int]
        var cases: [CaseResult]
    }
}
