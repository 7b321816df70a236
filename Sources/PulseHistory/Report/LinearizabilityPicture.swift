/// The linearizability section of the HTML report: each verdict's count, and for every seat no
/// order explains, a picture of the lie: a lane per client, each operation a bar from its request
/// to its answer (open-ended where the history gives no bound: a live message's start, an answer
/// that never came), labelled with what it did or was shown, and the sentence saying what
/// contradicts what.
enum LinearizabilityPicture {
    /// Seats drawn at most; the rest are listed by name.
    static let drawnMax = 20

    static func section(_ report: LinearizabilityReport) -> String {
        var out = "<h2>Linearizable seats</h2>\n<p>"
        out += report.counts
        out += " (of \(report.seats.count) seats). Each seat must behave as one object whose every change and read happened at one "
        out += "instant between its request and its answer.</p>\n"
        for seat in report.violations.prefix(drawnMax) { out += picture(seat) }
        if report.violations.count > drawnMax {
            out += "<p>Also not linearizable: "
            out += report.violations.dropFirst(drawnMax).map { Markup.escape("\($0.event) \($0.seat)") }.joined(separator: ", ") + "</p>\n"
        }
        let unknown = report.seats.filter { $0.verdict == .unknown }
        if !unknown.isEmpty {
            out += "<p>Unknown: " + Markup.escape(Set(unknown.compactMap(\.explanation)).sorted().joined(separator: "; ")) + "</p>\n"
        }
        return out
    }

    /// One violated seat: its sentence and its lanes (SVG).
    static func picture(_ seat: LinearizabilityReport.SeatResult) -> String {
        let width = 900.0
        let label = 90.0
        let lane = 24.0
        let window = seat.window
        let bounds = window.flatMap { [$0.invokeNs, $0.completeNs].compactMap(\.self) }
        let start = bounds.min() ?? 0
        let end = max(bounds.max() ?? 1, start + 1)
        let margin = 20.0
        func x(_ ns: Int64) -> Double { label + margin + (width - label - 2 * margin) * Double(ns - start) / Double(end - start) }
        let processes = Array(Set(window.map(\.process))).sorted()
        let height = Double(processes.count) * lane + 20
        var out = "<h3 id=\"lin-\(Markup.escape(seat.event))-\(Markup.escape(seat.seat))\">Event \(Markup.escape(seat.event)), seat "
        out += "\(Markup.escape(seat.seat))</h3>\n<p>\(Markup.escape(seat.explanation ?? ""))</p>\n"
        out += "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"11\" font-family=\"ui-monospace,monospace\">"
        for (row, process) in processes.enumerated() {
            let y = Double(row) * lane + 4
            out += "<text x=\"2\" y=\"\(y + 13)\">\(Markup.escape(process))</text>"
            out += "<line x1=\"\(label)\" x2=\"\(width)\" y1=\"\(y + lane - 3)\" y2=\"\(y + lane - 3)\" stroke=\"#eee\"/>"
            for operation in window where operation.process == process {
                let from = operation.invokeNs.map(x) ?? label
                let to = max(operation.completeNs.map(x) ?? width, from + 3)
                let fill = operation.label.hasPrefix("shown") ? "#c6dbef" : operation.answered ? "#fdd0a2" : "#eeeeee"
                let dash = operation.invokeNs == nil || operation.completeNs == nil ? " stroke-dasharray=\"4 2\"" : ""
                let lines = operation.lines.map(String.init).joined(separator: ", ")
                out += "<g><title>\(Markup.escape("\(operation.f) (lines \(lines))"))</title>"
                out += "<rect x=\"\(from)\" y=\"\(y)\" width=\"\(to - from)\" height=\"\(lane - 8)\" fill=\"\(fill)\" stroke=\"#555\"\(dash)/>"
                out += "<text x=\"\(from + 3)\" y=\"\(y + 12)\">\(Markup.escape(operation.label))</text></g>"
            }
        }
        let seconds = Double(end - start) / 1e9
        out += "<text x=\"\(label + margin)\" y=\"\(height - 3)\" fill=\"#777\">\(seconds.formatted3) s from the first request to the last answer "
        out += "drawn; a dashed edge has no bound in the history</text></svg>\n"
        return out
    }
}

extension Double {
    /// Three decimals, without Foundation.
    fileprivate var formatted3: String {
        let thousandths = Int((self * 1000).rounded())
        let fraction = String(abs(thousandths) % 1000)
        return "\(thousandths / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
