import Foundation

extension ConformanceReport {
    /// Why cases could not run or decide (UNIMPLEMENTED, INCONCLUSIVE), each reason with the
    /// number of cases it kept from a verdict, most first. A reason is the evidence's first line up
    /// to its first colon.
    public var reasonsNotRun: [(grade: Grade, reason: String, count: Int)] {
        var counted: [String: (grade: Grade, reason: String, count: Int)] = [:]
        for result in results where result.grade == .unimplemented || result.grade == .inconclusive {
            let first = result.evidence.first ?? "no reason given"
            let reason = String(first.split(separator: ":", maxSplits: 1).first ?? Substring(first))
            counted["\(result.grade.rawValue) \(reason)", default: (result.grade, reason, 0)].count += 1
        }
        return counted.values.sorted { ($0.count, $1.reason) > ($1.count, $0.reason) }
    }

    /// A Markdown summary for a CI job's page (`pulse conform --summary FILE`; GitHub Actions shows
    /// the file `$GITHUB_STEP_SUMMARY` names): the totals, one table row per clause, every FAILED
    /// and NON-STRICT case with its evidence, and why the others could not run.
    public func markdownSummary() -> String {
        var lines = ["## Pulse conformance: \(passed ? "passed" : "FAILED")", ""]
        lines.append("Target `\(target)`, test control: \(testControl ? "yes" : "no"), admin: \(admin ? "yes" : "no").")
        lines.append("")
        lines.append(Grade.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: " · ") + " of \(results.count) cases")
        lines.append("")
        lines.append("| Clause | Force | Cases | " + Grade.allCases.map(\.rawValue).joined(separator: " | ") + " |")
        lines.append("|---|---|---:|" + String(repeating: "---:|", count: Grade.allCases.count))
        var order: [String] = []
        var byClause: [String: [CaseResult]] = [:]
        for result in results {
            if byClause[result.clause] == nil { order.append(result.clause) }
            byClause[result.clause, default: []].append(result)
        }
        for clause in order {
            let group = byClause[clause]!
            let cells = Grade.allCases.map { grade in
                let count = group.filter { $0.grade == grade }.count
                return count == 0 ? "" : grade == .failed ? "**\(count)**" : "\(count)"
            }
            lines.append("| \(clause) | \(group[0].requirement.rawValue) | \(group.count) | " + cells.joined(separator: " | ") + " |")
        }
        for grade in [Grade.failed, .nonStrict] {
            let graded = results.filter { $0.grade == grade }
            guard !graded.isEmpty else { continue }
            lines += ["", "### \(grade.rawValue)", ""]
            for result in graded {
                lines.append("- `\(result.id)` (\(result.clause) \(result.requirement.rawValue)): \(Self.markdownText(result.title))")
                lines.append("  ```")
                lines += result.evidence.prefix(10).map { "  " + $0.replacingOccurrences(of: "```", with: "'''") }
                lines.append("  ```")
            }
        }
        let reasons = reasonsNotRun
        if !reasons.isEmpty {
            lines += ["", "### Not run or undecided", ""]
            lines += reasons.map { "- \($0.grade.rawValue) ×\($0.count): \(Self.markdownText($0.reason))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Workflow commands that GitHub Actions shows as annotations: an error per FAILED case and a
    /// warning per NON-STRICT one, titled with the clause and the case.
    public func githubAnnotations() -> String {
        results.compactMap { result -> String? in
            let level: String
            switch result.grade {
            case .failed: level = "error"
            case .nonStrict: level = "warning"
            default: return nil
            }
            let message = ([result.title] + result.evidence.prefix(4)).joined(separator: "\n")
            return
                "::\(level) title=\(Self.annotationEscaped("\(result.clause) \(result.id)", property: true))::\(Self.annotationEscaped(message, property: false))"
        }.joined(separator: "\n") + (results.contains { $0.grade == .failed || $0.grade == .nonStrict } ? "\n" : "")
    }

    /// Text for a table or list item: no line breaks, no pipes.
    static func markdownText(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "|", with: "\\|")
    }

    /// A workflow command's data (`%`, CR and LF escaped) or property value (`:` and `,` too).
    static func annotationEscaped(_ text: String, property: Bool) -> String {
        var escaped = text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D").replacingOccurrences(
            of: "\n", with: "%0A")
        if property { escaped = escaped.replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C") }
        return escaped
    }
}
