import Foundation

extension ConformanceReport {
    /// A single-file HTML report a person can read: the totals, then a table per clause area with
    /// each case's grade and, for cases not OK, the evidence.
    public func html() -> String {
        let colours: [Grade: String] = [
            .ok: "#1a7f37", .nonStrict: "#9a6700", .failed: "#cf222e", .unimplemented: "#6e7781", .inconclusive: "#8250df", .informational: "#0969da",
        ]
        var body = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Pulse conformance: \(Self.escape(target))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #1f2328; }
            table { border-collapse: collapse; width: 100%; margin-bottom: 1.5em; }
            th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #d0d7de; vertical-align: top; }
            .grade { font-weight: 600; white-space: nowrap; }
            pre { margin: 4px 0 0; white-space: pre-wrap; font-size: 12px; background: #f6f8fa; padding: 6px; }
            .verdict { font-size: 1.3em; font-weight: 700; }
            </style></head><body>
            <h1>Pulse conformance</h1>
            <p>Target <code>\(Self.escape(target))</code> &middot; test control: \(testControl ? "yes" : "no") &middot; admin: \(admin ? "yes" : "no")</p>
            <p class="verdict" style="color: \(passed ? colours[.ok]! : colours[.failed]!)">\(passed ? "PASSED: no MUST case failed" : "FAILED: \(counts[.failed] ?? 0) MUST case(s) failed")</p>
            <p>\(Grade.allCases.map { "<span style=\"color: \(colours[$0]!)\">\($0.rawValue) \(counts[$0] ?? 0)</span>" }.joined(separator: " &middot; ")) of \(results.count) cases</p>

            """
        for (area, group) in byArea {
            body += "<h2>\(Self.escape(area))</h2>\n<table><tr><th>grade</th><th>clause</th><th>case</th><th>what it checks</th><th>time</th></tr>\n"
            for result in group {
                let evidence =
                    result.grade == .ok || result.evidence.isEmpty ? "" : "<pre>\(Self.escape(result.evidence.joined(separator: "\n")))</pre>"
                body +=
                    "<tr><td class=\"grade\" style=\"color: \(colours[result.grade]!)\">\(result.grade.rawValue)</td><td>\(result.clause) \(result.requirement.rawValue)</td>"
                    + "<td><code>\(Self.escape(result.id))</code></td><td>\(Self.escape(result.title))\(evidence)</td><td>\(String(format: "%.2f s", result.durationSeconds))</td></tr>\n"
            }
            body += "</table>\n"
        }
        return body + "</body></html>\n"
    }
}
