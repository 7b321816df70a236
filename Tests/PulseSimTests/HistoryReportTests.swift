import Foundation
import Testing

@testable import PulseHistory

/// The HTML picture of a history (`pulse check --html`, `pulse sim --report`).
@Suite("History HTML report")
struct HistoryReportTests {
    @Test("a violation's witnesses are highlighted, anchored and linked; its seat's timeline is open and flagged")
    func witnessesLinked() throws {
        var h = CheckerTests.goodRace()
        h.checkout("u2", ["A1"], booking: "b2", invoke: 7, end: 8)
        let violation = try #require(HistoryChecker.check(h.records).first { $0.invariant == .noDoubleBooking })
        let page = HistoryHTMLReport(title: "double", records: h.records).html()
        #expect(page.contains("<td class=\"fail\">FAIL (1)</td>"))
        for line in violation.witnessLines {
            #expect(page.contains("<a href=\"#line-\(line)\">\(line)</a>"), "the violation links line \(line)")
            #expect(page.contains("<tr id=\"line-\(line)\" class=\"witness\">"), "line \(line) is anchored and highlighted in the listing")
        }
        #expect(page.contains("<details id=\"seat-e-A1\" open class=\"flagged\">"))
        #expect(page.contains("href=\"#seat-e-A1\""), "the violation links its seat's timeline")
        #expect(page.contains("class=\"booked\""), "bookings are marked on the timeline")
        #expect(page.contains("class=\"held h"), "the hold is a bar in its user's colour")
        #expect(page.contains("s1 told seat_locked seq 101"), "what the subscriber was told shows on the seat")
    }

    @Test("a clean history has no witness; the page is the same bytes every time; what it prints is escaped")
    func cleanAndEscaped() {
        var h = CheckerTests.goodRace()
        h.add(30_000, "u<script>", .invoke, "hold", ["event": "e", "seats": ["A2\"><img>"]])
        let page = HistoryHTMLReport(title: "clean <b>", records: h.records).html()
        #expect(page.contains("no invariant broken"))
        #expect(!page.contains("class=\"witness\"") && !page.contains("class=\"flagged\""))
        #expect(!page.contains("<script>") && !page.contains("<img>") && !page.contains("clean <b>"))
        #expect(page.contains("u&lt;script&gt;") && page.contains("clean &lt;b&gt;"))
        #expect(page == HistoryHTMLReport(title: "clean <b>", records: h.records).html())
    }

    @Test("past the listing limit only the witnesses and the flagged seats' records are listed")
    func longHistories() {
        var h = CheckerTests.goodRace()
        h.checkout("u2", ["A1"], booking: "b2", invoke: 7, end: 8)
        h.hold("u3", ["B5"], id: "h9", invoke: 9, ok: 10, expires: 9_000)
        var report = HistoryHTMLReport(title: "long", records: h.records)
        report.fullListingMax = 3
        let page = report.html()
        #expect(page.contains("only the witnesses and the records of seats with a violation are listed"))
        let b5 = h.records.first { $0.strings("seats") == ["B5"] }!.line
        #expect(!page.contains("<tr id=\"line-\(b5)\""), "an unflagged seat's record is left out")
        #expect(page.contains("<details id=\"seat-e-B5\""), "its timeline is still drawn")
    }

    @Test("the run in time: a dot per answered operation, ok answers per second, each fault shaded from its start to its end")
    func faultsShaded() {
        var h = HistoryBuilder()
        h.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 2, expires: 10_000)
        h.add(100, "nemesis", .fault, "pause", ["process": "u2", "ms": 400])
        h.hold("u2", ["A2"], id: "h2", invoke: 150, ok: 550, expires: 10_000)
        h.add(600, "nemesis", .fault, "partition", ["target": "api2", "end_ns": 1_600_000_000])
        h.add(700, "nemesis", .fault, "hot_state_loss", ["generation": 2])
        h.add(800, "u3", .invoke, "hold", ["event": "e", "seats": ["A3"]])
        h.add(900, "u3", .info, "hold", ["event": "e"], error: "timeout")
        h.add(2_000, "nemesis", .fault, "request_drop", ["process": "u3"])
        #expect(
            LatencyPicture.windows(h.records) == [
                .init(startNs: 100_000_000, endNs: 500_000_000, label: "pause u2"),
                .init(startNs: 600_000_000, endNs: 1_600_000_000, label: "partition api2"),
                .init(startNs: 700_000_000, endNs: nil, label: "hot_state_loss"),
            ], "a window per fault of the run, none per dropped request")
        let page = HistoryHTMLReport(title: "faults", records: h.records).html()
        #expect(page.contains("<h2>Latency and faults</h2>"))
        #expect(page.components(separatedBy: "<rect class=\"fault\"").count - 1 == 2)
        #expect(page.components(separatedBy: "<line class=\"fault\"").count - 1 == 1)
        #expect(page.contains("<title>pause u2: 0.1 to 0.5 s</title>") && page.contains("<title>partition api2: 0.6 to 1.6 s</title>"))
        #expect(page.components(separatedBy: "<circle class=\"ok\"").count - 1 == 2)
        #expect(page.components(separatedBy: "<circle class=\"info\"").count - 1 == 1)
        #expect(page.contains("u2 hold ok in 400.0 ms"), "each dot says what it is")
        #expect(page == HistoryHTMLReport(title: "faults", records: h.records).html())
    }
}
