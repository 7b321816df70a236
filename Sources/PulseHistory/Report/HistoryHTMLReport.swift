/// A single-file HTML picture of a history (`pulse check --html`, `pulse sim --report`): the
/// verdict per invariant; every violation with its witnesses; latency and throughput in time
/// with the faults shaded (``LatencyPicture``); per event, a timeline per seat (who
/// held it when, until its expiry or its end, the bookings, and every message each subscriber saw
/// about it); and the history itself, line by line. Every witness is highlighted wherever it
/// shows and links to its history line. Pure: the same history gives the same bytes.
public struct HistoryHTMLReport {
    public var title: String
    let index: HistoryIndex
    let violations: [Violation]
    let evidence: [Invariant: Int]
    /// The lines of every violation's witnesses.
    let witnesses: Set<Int>
    /// Every seat's linearizability verdict (``Linearizability``).
    let linearizability: LinearizabilityReport
    /// Histories longer than this list only the lines of seats with a violation and the witnesses.
    public var fullListingMax = 20_000

    /// A report of `records` with the checker's findings on them, of the `invariants` given.
    /// `skewNs` is the linearizability check's clock skew (``Linearizability/check(_:skewNs:budget:)``).
    public init(title: String, records: [HistoryRecord], invariants: Set<Invariant> = Set(Invariant.allCases), skewNs: Int64 = 0) {
        self.title = title
        index = HistoryIndex(records)
        violations = HistoryChecker.check(index).filter { invariants.contains($0.invariant) }
        evidence = HistoryChecker.evidence(index).filter { invariants.contains($0.key) }
        linearizability = Linearizability.check(index, skewNs: skewNs)
        witnesses = Set(violations.flatMap(\.witnessLines)).union(linearizability.violations.flatMap(\.lines))
    }

    /// The whole page.
    public func html() -> String {
        var out =
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(escape(title))</title>\n<style>\(Self.style)\(LatencyPicture.style)</style></head><body>\n"
        out += "<h1>\(escape(title))</h1>\n"
        out += summary()
        out += violationList()
        out += LatencyPicture.section(index)
        out += LinearizabilityPicture.section(linearizability)
        out += timelines()
        out += listing()
        out += "</body></html>\n"
        return out
    }

    // MARK: Sections

    private func summary() -> String {
        var out =
            "<p>\(index.records.count) records; \(violations.isEmpty ? "no invariant broken" : "\(violations.count) violation(s)").</p>\n<table class=\"verdicts\">"
        for invariant in Invariant.allCases {
            let found = violations.filter { $0.invariant == invariant }.count
            let verdict = found > 0 ? "FAIL (\(found))" : evidence[invariant, default: 0] == 0 ? "not checked" : "ok"
            let css = found > 0 ? "fail" : verdict == "ok" ? "ok" : "unchecked"
            out += "<tr><td>\(invariant.rawValue)</td><td class=\"\(css)\">\(verdict)</td></tr>"
        }
        return out + "</table>\n"
    }

    private func violationList() -> String {
        guard !violations.isEmpty else { return "" }
        var out = "<h2>Violations</h2>\n<ol class=\"violations\">"
        for violation in violations {
            let seat = violation.seat.map { " seat <a href=\"#\(Self.seatAnchor(violation.event, $0))\">\(escape($0))</a>" } ?? ""
            let lines = violation.witnessLines.map { "<a href=\"#line-\($0)\">\($0)</a>" }.joined(separator: ", ")
            out +=
                "<li><b>\(violation.invariant.rawValue)</b>: event \(escape(violation.event))\(seat): \(escape(violation.message)) (lines \(lines))</li>"
        }
        return out + "</ol>\n"
    }

    /// One timeline per seat that anything happened to, per event.
    private func timelines() -> String {
        let intervals = index.heldIntervals()
        let perSeat = recordsPerSeat()
        let users = Array(Set(index.operations.map(\.user))).sorted()
        var out =
            "<h2>Seats</h2>\n<p class=\"legend\">Bars: holds from their grant to their expiry or the owner's release or checkout, "
            + "in their user's colour (hatched: granted somewhere in this stretch); <span class=\"booked\">&#9632;</span> booked; ticks under the bar: "
            + "what subscribers were told. Each seat's time runs left to right from its first record to its last; hover for details. "
            + "Times are seconds since the history's first record.</p>\n"
        for event in perSeat.keys.sorted() {
            out += "<h3>Event \(escape(event))</h3>\n"
            for seat in perSeat[event]!.keys.sorted(by: Self.seatOrder) {
                let records = perSeat[event]![seat]!
                let flagged = records.contains { witnesses.contains($0.line) }
                let held = intervals[event]?[seat] ?? []
                let first = min(records.first!.timeNs, held.map(\.grant.startNs).min() ?? .max)
                let last = max(records.last!.timeNs, held.map { min($0.surelyLiveUntilNs, index.records.last?.timeNs ?? 0) }.max() ?? 0)
                let span = max(1, last - first) * 21 / 20
                let start = first - span / 40
                out +=
                    "<details id=\"\(Self.seatAnchor(event, seat))\"\(flagged ? " open class=\"flagged\"" : "")><summary>\(escape(seat))"
                    + "\(flagged ? " &mdash; violation" : "") (\(records.count) records, \(seconds(first)) to \(seconds(last)) s)</summary>\n<div class=\"lane\">"
                for held in held {
                    let from = held.grant.startNs
                    let granted = held.grant.endNs
                    let until = min(held.surelyLiveUntilNs, index.records.last?.timeNs ?? granted)
                    let hue = (users.firstIndex(of: held.user) ?? 0) * 137 % 360
                    out += bar(from, granted, start, span, "grant", hue, "\(held.user) asks for hold \(held.holdID)")
                    out += bar(
                        granted, max(granted, until), start, span, "held", hue,
                        "\(held.user) holds it (\(held.holdID), fence \(held.fence.map(String.init) ?? "?"))",
                        text: held.user)
                }
                for record in records where record.f == "checkout" && record.type == .ok {
                    out += mark(
                        record.timeNs, start, span, "booked", "\(seconds(record.timeNs)) s: booked by \(record.process) (line \(record.line))")
                }
                for record in records where record.type == .observe {
                    out += mark(
                        record.timeNs, start, span, "tick",
                        "\(seconds(record.timeNs)) s: \(record.process) told \(record.f) seq \(record.int("seq").map(String.init) ?? "?") (line \(record.line))"
                    )
                }
                out += "</div>\n<table class=\"records\">"
                for record in records { out += row(record) }
                out += "</table></details>\n"
            }
        }
        return out
    }

    private func listing() -> String {
        let full = index.records.count <= fullListingMax
        let flaggedSeats = Set(violations.compactMap { violation in violation.seat.map { "\(violation.event)\u{0}\($0)" } })
        var out = "<h2>History</h2>\n"
        if !full { out += "<p>\(index.records.count) records: only the witnesses and the records of seats with a violation are listed.</p>\n" }
        out += "<table class=\"records\">"
        for record in index.records {
            if !full, !witnesses.contains(record.line),
                Self.seats(of: record).allSatisfy({ !flaggedSeats.contains("\(record.string("event") ?? "")\u{0}\($0)") })
            {
                continue
            }
            out += row(record, anchor: true)
        }
        return out + "</table>\n"
    }

    // MARK: Pieces

    private func row(_ record: HistoryRecord, anchor: Bool = false) -> String {
        let id = anchor ? " id=\"line-\(record.line)\"" : ""
        let css = witnesses.contains(record.line) ? " class=\"witness\"" : ""
        let link = anchor ? "\(record.line)" : "<a href=\"#line-\(record.line)\">\(record.line)</a>"
        let value = record.value.keys.sorted().map { "\($0)=\(Self.text(record.value[$0]!))" }.joined(separator: " ")
        return "<tr\(id)\(css)><td>\(link)</td><td>\(seconds(record.timeNs))</td><td>\(escape(record.process))</td><td>\(record.type.rawValue)</td>"
            + "<td>\(escape(record.f))</td><td>\(escape(value))\(record.error.map { " <b>\(escape($0))</b>" } ?? "")</td></tr>"
    }

    private func bar(_ from: Int64, _ to: Int64, _ start: Int64, _ span: Int64, _ css: String, _ hue: Int, _ label: String, text: String = "")
        -> String
    {
        let left = Double(from - start) * 100 / Double(span)
        let width = max(0.2, Double(to - from) * 100 / Double(span))
        return "<span class=\"\(css) h\(hue / 30)\" style=\"left:\(Self.percent(left));width:\(Self.percent(min(width, 100 - left)))\" "
            + "title=\"\(escape(label)) from \(seconds(from)) to \(seconds(to)) s\">\(escape(text))</span>"
    }

    /// Seconds since the history's first record, to the millisecond.
    private func seconds(_ ns: Int64) -> String {
        let ms = (ns - (index.records.first?.timeNs ?? 0)) / 1_000_000
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - String(ms % 1000).count))\(ms % 1000)"
    }

    private func mark(_ time: Int64, _ start: Int64, _ span: Int64, _ css: String, _ label: String) -> String {
        "<span class=\"\(css)\" style=\"left:\(Self.percent(Double(time - start) * 100 / Double(span)))\" title=\"\(escape(label))\"></span>"
    }

    /// The records about each seat, per event, in history order.
    private func recordsPerSeat() -> [String: [String: [HistoryRecord]]] {
        var result: [String: [String: [HistoryRecord]]] = [:]
        var invokes: [String: HistoryRecord] = [:]
        for record in index.records {
            if record.type == .invoke { invokes[record.process] = record }
            // A completion is about the seats its invoke named (a failed hold names none itself).
            let about =
                record.type == .invoke || record.type == .observe
                ? record
                : invokes[record.process].map { invoke in
                    var merged = record
                    merged.value = record.value.merging(invoke.value) { own, _ in own }
                    return merged
                } ?? record
            guard let event = about.string("event") else { continue }
            for seat in Self.seats(of: about) { result[event, default: [:]][seat, default: []].append(record) }
        }
        return result
    }

    static func seats(of record: HistoryRecord) -> [String] {
        var seats = record.strings("seats") + record.strings("released")
        if let seat = record.string("seat") { seats.append(seat) }
        return Array(Set(seats)).sorted()
    }

    /// A1 < A2 < A10 < B1.
    static func seatOrder(_ a: String, _ b: String) -> Bool {
        let (rowA, numberA) = (a.prefix { $0.isLetter }, Int(a.drop { $0.isLetter }) ?? 0)
        let (rowB, numberB) = (b.prefix { $0.isLetter }, Int(b.drop { $0.isLetter }) ?? 0)
        return rowA != rowB ? rowA < rowB : numberA != numberB ? numberA < numberB : a < b
    }

    /// `seat-EVENT-SEAT`, each part with anything but ASCII letters and digits as `_`.
    static func seatAnchor(_ event: String, _ seat: String) -> String {
        func plain(_ text: String) -> String {
            String(text.unicodeScalars.map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) ? Character($0) : "_" })
        }
        return "seat-\(plain(event))-\(plain(seat))"
    }

    static func percent(_ value: Double) -> String { "\((value * 100).rounded() / 100)%" }

    static func text(_ value: HistoryValue) -> String {
        switch value {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        case .null: "null"
        case .array(let items): "[" + items.map(text).joined(separator: ",") + "]"
        case .object(let fields): "{" + fields.keys.sorted().map { "\($0):\(text(fields[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    private func escape(_ text: String) -> String { Markup.escape(text) }

    static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h2{margin-top:1.6em}
        table{border-collapse:collapse}td{padding:1px 6px;vertical-align:top;font-family:ui-monospace,monospace;font-size:12px}
        .verdicts td{font-family:inherit;font-size:14px}.ok{color:#176b2c}.fail{color:#b00020;font-weight:bold}.unchecked{color:#777}
        .violations li{margin:.3em 0}tr.witness td{background:#ffe0e0;font-weight:bold}tr:target td{outline:2px solid #b00020}
        details{margin:.2em 0;border-left:3px solid #ddd;padding-left:.5em}details.flagged{border-left-color:#b00020}
        summary{cursor:pointer}.lane{position:relative;height:30px;background:#f4f4f4;margin:.3em 0;min-width:600px}
        .lane span{position:absolute;display:block}.held{top:3px;height:15px;opacity:.85;color:#fff;font-size:10px;line-height:15px;overflow:hidden;white-space:nowrap;padding-left:2px;box-sizing:border-box}
        .grant{top:3px;height:15px;opacity:.5;background-image:repeating-linear-gradient(45deg,#fff0 0 3px,#fff8 3px 6px)}
        .booked{top:0;width:4px;height:18px;background:#b00020;color:#b00020}.tick{top:21px;width:1px;height:8px;background:#333}
        .legend .booked{position:static;display:inline;background:none}
        .h0{background-color:#1f77b4}.h1{background-color:#ff7f0e}.h2{background-color:#2ca02c}.h3{background-color:#9467bd}
        .h4{background-color:#8c564b}.h5{background-color:#e377c2}.h6{background-color:#7f7f7f}.h7{background-color:#bcbd22}
        .h8{background-color:#17becf}.h9{background-color:#393b79}.h10{background-color:#637939}.h11{background-color:#843c39}
        """
}
