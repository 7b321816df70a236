import Foundation

/// The report's picture of the whole run in time: every answered operation's latency (a dot at
/// its answer, coloured by outcome), the `ok` answers per second, and the faults shaded over both
/// (a window from the fault to its end: `end_ns`, else `ms` or `down_ms` after it; a line for a
/// fault without a duration), so what the faults did to the clients shows at a glance. Pure.
enum LatencyPicture {
    /// Dots drawn at most: past it, every k-th operation (the same ones every time).
    static let dotsMax = 4_000

    /// One fault's span on the time axis.
    struct Window: Equatable {
        var startNs: Int64
        /// nil: an instant (hot state lost, a failover, a clock step).
        var endNs: Int64?
        var label: String
    }

    /// Faults that touch one request or one message each (many in a faulty run): not drawn.
    static let perRequest: Set<String> = [
        "delay", "request_drop", "response_drop", "request_duplicate", "message_delay", "message_drop", "durable_error", "client_crash",
        "server_restart",
    ]

    /// The faults of `records` as windows (those of one request or message each left out): from
    /// the record's time to its `end_ns`, else to its `ms` or `down_ms` later; an instant when
    /// it names no duration.
    static func windows(_ records: [HistoryRecord]) -> [Window] {
        records.filter { $0.type == .fault && !perRequest.contains($0.f) }.map { record in
            let end = record.int("end_ns") ?? (record.int("ms") ?? record.int("down_ms")).map { record.timeNs + $0 * 1_000_000 }
            let subject = record.string("process") ?? record.string("target")
            return Window(startNs: record.timeNs, endNs: end, label: record.f + (subject.map { " \($0)" } ?? ""))
        }
    }

    static func section(_ index: HistoryIndex) -> String {
        let answered = index.operations.filter { $0.completion != nil }
        guard let first = index.records.first?.timeNs, let last = index.records.last?.timeNs, !answered.isEmpty else { return "" }
        let span = Double(max(1, last - first))
        let (width, height, chart) = (900.0, 260.0, 170.0)
        func x(_ ns: Int64) -> String { format(40 + Double(ns - first) / span * (width - 50)) }
        let latencies = answered.map { max(1, $0.completion!.timeNs - $0.invoke.timeNs) }
        let slowest = Double(latencies.max() ?? 1)
        // Log scale from 0.1 ms to the slowest answer.
        let low = 100_000.0
        let decades = max(1, (log10(max(slowest, low * 10)) - log10(low)).rounded(.up))
        func y(_ ns: Int64) -> String { format(10 + chart - (log10(max(Double(ns), low)) - log10(low)) / decades * chart) }
        var svg =
            "<svg class=\"latency\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">"
        for window in windows(index.records) {
            if let end = window.endNs {
                svg +=
                    "<rect class=\"fault\" x=\"\(x(window.startNs))\" y=\"10\" width=\"\(format(max(1, Double(end - window.startNs) / span * (width - 50))))\" "
                    + "height=\"\(Int(height - 20))\"><title>\(Markup.escape(window.label)): \(seconds(window.startNs - first)) to \(seconds(end - first)) s</title></rect>"
            } else {
                svg +=
                    "<line class=\"fault\" x1=\"\(x(window.startNs))\" x2=\"\(x(window.startNs))\" y1=\"10\" y2=\"\(Int(height - 10))\">"
                    + "<title>\(Markup.escape(window.label)) at \(seconds(window.startNs - first)) s</title></line>"
            }
        }
        for decade in 0...Int(decades) {
            let ns = Int64(low * pow(10, Double(decade)))
            svg += "<text class=\"axis\" x=\"2\" y=\"\(y(ns))\">\(ns >= 1_000_000 ? "\(ns / 1_000_000) ms" : "0.1 ms")</text>"
        }
        let step = max(1, answered.count / dotsMax)
        for (position, operation) in answered.enumerated() where position % step == 0 {
            let outcome = operation.completion!.type
            svg +=
                "<circle class=\"\(outcome.rawValue)\" cx=\"\(x(operation.completion!.timeNs))\" cy=\"\(y(latencies[position]))\" r=\"1.6\">"
                + "<title>\(Markup.escape(operation.process)) \(Markup.escape(operation.f)) \(outcome.rawValue) in "
                + "\(format(Double(latencies[position]) / 1_000_000)) ms (line \(operation.invoke.line))</title></circle>"
        }
        // Answers `ok` per second, in one-second buckets, under the dots.
        var perSecond = [Int](repeating: 0, count: Int((last - first) / 1_000_000_000) + 1)
        for operation in answered where operation.completion!.type == .ok {
            perSecond[Int((operation.completion!.timeNs - first) / 1_000_000_000)] += 1
        }
        let busiest = Double(max(1, perSecond.max() ?? 1))
        let points = perSecond.enumerated().map { second, count in
            "\(x(first + Int64(second) * 1_000_000_000 + 500_000_000)),\(format(height - 10 - Double(count) / busiest * 60))"
        }
        svg +=
            "<polyline class=\"throughput\" points=\"\(points.joined(separator: " "))\"><title>ok answers per second (most: \(Int(busiest)))</title></polyline>"
        svg += "</svg>"
        let sampled = step > 1 ? " One operation in \(step) is drawn." : ""
        return "<h2>Latency and faults</h2>\n<p class=\"legend\">Each dot an answered operation at its answer, its latency on a log scale "
            + "(<span class=\"ok-dot\">ok</span>, <span class=\"fail-dot\">fail</span>, <span class=\"info-dot\">no answer known</span>); "
            + "the line at the bottom: ok answers per second; shaded: a fault from its start to its end, a red line: a fault at one instant. "
            + "Hover for details.\(sampled)</p>\n\(svg)\n"
    }

    static let style = """
        svg.latency{border:1px solid #ddd;background:#fcfcfc}svg.latency .fault{fill:#f4c7c7;fill-opacity:.6;stroke:#b00020;stroke-width:.6}
        svg.latency line.fault{stroke-width:1.5}svg.latency circle.ok{fill:#176b2c}svg.latency circle.fail{fill:#d9822b}
        svg.latency circle.info{fill:#b00020}svg.latency .throughput{fill:none;stroke:#2a5db0;stroke-width:1.2}
        svg.latency .axis{font-size:10px;fill:#777}.ok-dot{color:#176b2c}.fail-dot{color:#d9822b}.info-dot{color:#b00020}
        """

    private static func format(_ value: Double) -> String { "\((value * 10).rounded() / 10)" }

    private static func seconds(_ ns: Int64) -> String { format(Double(ns) / 1_000_000_000) }
}
