import PulseScenario
import PulseSim
import Testing

@testable import PulseHistory

/// Small hand-written histories, each with its verdict, for the per-seat linearizability check.
@Suite("Linearizable seats: the check on hand-written histories")
struct LinearizabilityTests {
    /// A history written by hand: times in nanoseconds, one event `e`.
    struct Script {
        var records: [HistoryRecord] = []

        mutating func add(
            _ time: Int64, _ process: String, _ type: HistoryRecord.Kind, _ f: String, _ value: [String: HistoryValue] = [:],
            error: String? = nil
        ) {
            var value = value
            if value["event"] == nil { value["event"] = .string("e") }
            records.append(
                HistoryRecord(
                    index: records.count, timeNs: time, process: process, type: type, f: f, value: value, error: error,
                    line: records.count + 1))
        }

        /// `process` holds `seats` from `start` to `end`, the hold lapsing at `expires`.
        mutating func hold(_ process: String, _ seats: [String], _ start: Int64, _ end: Int64, id: String, expires: Int64 = 1_000_000) {
            add(start, process, .invoke, "hold", ["seats": seats.value])
            add(end, process, .ok, "hold", ["seats": seats.value, "hold": .string(id), "expires_at_ns": .int(expires)])
        }

        mutating func release(_ process: String, hold: String, _ seats: [String], _ start: Int64, _ end: Int64) {
            add(start, process, .invoke, "release", ["hold": .string(hold)])
            add(end, process, .ok, "release", ["released": seats.value])
        }

        mutating func checkout(_ process: String, _ seats: [String], _ start: Int64, _ end: Int64, booking: String, key: String? = nil) {
            add(start, process, .invoke, "checkout", ["seats": seats.value].merging(key.map { ["key": .string($0)] } ?? [:]) { $1 })
            add(end, process, .ok, "checkout", ["seats": seats.value, "booking": .string(booking)])
        }

        /// A seat map read from `start` to `end` that showed `free` available (of A1...A3).
        mutating func browse(_ process: String, free: [String], _ start: Int64, _ end: Int64, seq: Int64 = 0) {
            add(start, process, .invoke, "browse")
            add(end, process, .ok, "browse", ["free": free.value, "seq": .int(seq)])
        }

        func verdicts(skewNs: Int64 = 0, budget: Int = 200_000) -> [String: LinearizabilityReport.Verdict] {
            Dictionary(uniqueKeysWithValues: report(skewNs: skewNs, budget: budget).seats.map { ($0.seat, $0.verdict) })
        }

        /// The check's report on the records, every seat (A1...A3) named by a first snapshot.
        func report(skewNs: Int64 = 0, budget: Int = 200_000) -> LinearizabilityReport {
            var all = records
            // Every seat appears in the history: A1...A3.
            all.insert(
                HistoryRecord(
                    index: 0, timeNs: 0, process: "s0", type: .observe, f: "snapshot",
                    value: [
                        "event": .string("e"), "seq": .int(0), "booked": .array([]), "locked": .object([:]),
                        "seats": ["A1", "A2", "A3"].value,
                    ], line: 0), at: 0)
            return Linearizability.check(all, skewNs: skewNs, budget: budget)
        }
    }

    @Test("a hold, its release and another user's hold, one after the other: every seat linearizable")
    func sequential() {
        var h = Script()
        h.hold("u1", ["A1"], 10, 20, id: "h1")
        h.browse("u3", free: ["A2", "A3"], 30, 40, seq: 1)
        h.release("u1", hold: "h1", ["A1"], 50, 60)
        h.hold("u2", ["A1"], 70, 80, id: "h2")
        h.browse("u3", free: ["A2", "A3"], 90, 100, seq: 3)
        #expect(h.verdicts() == ["A1": .ok, "A2": .ok, "A3": .ok])
    }

    @Test("a seat map read after a hold was answered shows the seat free: the read is a lie")
    func staleRead() {
        var h = Script()
        h.hold("u1", ["A1"], 10, 20, id: "h1")
        h.browse("u2", free: ["A1", "A2", "A3"], 30, 40, seq: 1)
        #expect(h.verdicts()["A1"] == .violated)
        #expect(h.verdicts()["A2"] == .ok)
    }

    @Test("a violated seat names the lie: the contradiction keeps the reads it needs, and one sentence says what contradicts what")
    func pictureOfTheLie() {
        var h = Script()
        h.browse("u2", free: ["A1", "A2", "A3"], 1, 5, seq: 0)
        h.hold("u1", ["A1"], 10, 20, id: "h1")
        h.browse("u3", free: ["A2", "A3"], 25, 28, seq: 1)
        h.browse("u2", free: ["A1", "A2", "A3"], 30, 40, seq: 1)
        var all = h.records
        all.insert(
            HistoryRecord(
                index: 0, timeNs: 0, process: "s0", type: .observe, f: "snapshot",
                value: ["event": .string("e"), "seq": .int(0), "booked": .array([]), "locked": .object([:])], line: 0), at: 0)
        let seat = Linearizability.check(all).seats.first { $0.seat == "A1" }
        #expect(seat?.verdict == .violated)
        #expect(seat?.window.map(\.label) == ["hold", "shown free"], "the hold and the read it contradicts, no harmless read")
        #expect(seat?.window.last?.process == "u2" && seat?.lines == [7, 8])
        #expect(seat?.explanation?.contains("what u2 was shown by browse (line 7, 8) needs it free") == true, "\(seat?.explanation ?? "")")
        #expect(seat?.explanation?.contains("leaves the seat held by u1 (hold h1)") == true, "\(seat?.explanation ?? "")")
    }

    @Test("the HTML report draws each violated seat: a lane per client, a bar per operation, and the sentence")
    func pictureInTheReport() {
        var h = Script()
        h.hold("u1", ["A1"], 10, 20, id: "h1")
        h.browse("u2", free: ["A1", "A2", "A3"], 30, 40, seq: 1)
        let page = HistoryHTMLReport(title: "lie", records: h.records).html()
        #expect(page.contains("<h2>Linearizable seats</h2>") && page.contains("2 ok, 1 violated, 0 unknown"), "A1 of the three seats")
        #expect(page.contains("<svg") && page.contains(">u1</text>") && page.contains(">u2</text>"), "a lane per client")
        #expect(page.contains(">hold</text>") && page.contains(">shown free</text>"), "the bars say what each did or was shown")
        #expect(page.contains("needs it free, but every order"), "the sentence")
        #expect(page.contains("<tr id=\"line-4\" class=\"witness\">"), "the lines of the lie are highlighted in the listing")
        var clean = Script()
        clean.hold("u1", ["A1"], 10, 20, id: "h1")
        let fine = HistoryHTMLReport(title: "fine", records: clean.records).html()
        #expect(fine.contains("1 ok, 0 violated, 0 unknown") && !fine.contains("<svg width="), "no picture of a lie (the latency picture is another)")
    }

    @Test("a checkout that failed may have frozen its hold past the hold's expiry: a refusal then is no lie, nor a hold after it")
    func frozenPastExpiry() {
        var h = Script()
        h.hold("u1", ["A1"], 0, 10, id: "h1", expires: 100)
        h.add(90, "u1", .invoke, "checkout", ["seats": ["A1"].value, "key": .string("k")])
        h.add(150, "u2", .invoke, "hold", ["seats": ["A1"].value])
        h.add(155, "u2", .fail, "hold", error: "seat_unavailable")
        h.hold("u3", ["A1"], 200, 210, id: "h3", expires: 5_000)
        h.add(300, "u1", .fail, "checkout", error: "hold_superseded")
        #expect(h.verdicts()["A1"] == .ok)

        var refusedForNothing = Script()
        refusedForNothing.hold("u1", ["A1"], 0, 10, id: "h1", expires: 100)
        refusedForNothing.add(150, "u2", .invoke, "hold", ["seats": ["A1"].value])
        refusedForNothing.add(155, "u2", .fail, "hold", error: "seat_unavailable")
        #expect(refusedForNothing.verdicts()["A1"] == .violated, "refused after the hold surely lapsed, with nothing to hold the seat")
    }

    @Test("a read concurrent with the hold may see either state")
    func concurrentRead() {
        for free in [["A1", "A2", "A3"], ["A2", "A3"]] {
            var h = Script()
            h.add(10, "u1", .invoke, "hold", ["seats": ["A1"].value])
            h.browse("u2", free: free, 20, 30, seq: 1)
            h.add(40, "u1", .ok, "hold", ["seats": ["A1"].value, "hold": .string("h1"), "expires_at_ns": .int(1_000_000)])
            #expect(h.verdicts()["A1"] == .ok, "shown free: \(free)")
        }
    }

    @Test("a hold whose answer never came may have taken effect, and may have lapsed since (its TTL unknown)")
    func unansweredHold() {
        var h = Script()
        h.add(10, "u1", .invoke, "hold", ["seats": ["A1"].value])
        h.add(15, "u1", .info, "hold", error: "timeout")
        h.browse("u2", free: ["A2", "A3"], 50, 60, seq: 1)
        h.browse("u2", free: ["A1", "A2", "A3"], 70, 80, seq: 2)
        #expect(h.verdicts()["A1"] == .ok)

        var without = Script()
        without.browse("u2", free: ["A2", "A3"], 50, 60, seq: 1)
        #expect(without.verdicts()["A1"] == .violated, "taken, and nobody ever asked for it")
    }

    @Test("a refused hold whose request was sent twice may have been granted by its copy, later")
    func duplicatedRefusedHold() {
        func run(duplicated: Bool) -> LinearizabilityReport.Verdict? {
            var h = Script()
            h.hold("u1", ["A1"], 0, 10, id: "h1", expires: 100)
            h.add(20, "u2", .invoke, "hold", ["seats": ["A1"].value])
            if duplicated { h.add(20, "nemesis", .fault, "request_duplicate", ["process": "u2"]) }
            h.add(30, "u2", .fail, "hold", error: "seat_unavailable")
            h.browse("u3", free: ["A2", "A3"], 150, 160, seq: 1)
            return h.verdicts()["A1"]
        }
        #expect(run(duplicated: true) == .ok, "the copy arrived after h1 lapsed and took the seat")
        #expect(run(duplicated: false) == .violated, "taken after h1 lapsed, and nobody asked for it")
    }

    @Test("an expiry at the edge of its window: live before expiresAt, gone from it on; a skew widens the window both ways")
    func expiryEdge() {
        func run(_ start: Int64, _ end: Int64, free: Bool, skew: Int64 = 0) -> LinearizabilityReport.Verdict? {
            var h = Script()
            h.hold("u1", ["A1"], 0, 10, id: "h1", expires: 100)
            h.browse("u2", free: free ? ["A1", "A2", "A3"] : ["A2", "A3"], start, end, seq: 1)
            return h.verdicts(skewNs: skew)["A1"]
        }
        #expect(run(100, 110, free: true) == .ok, "lapsed at its expiry")
        #expect(run(50, 99, free: true) == .violated, "free before its expiry")
        #expect(run(100, 110, free: false) == .violated, "still held after its expiry")
        #expect(run(50, 99, free: false) == .ok)
        #expect(run(100, 110, free: false, skew: 20) == .ok, "within the skew")
        #expect(run(85, 90, free: true, skew: 20) == .ok, "within the skew")
        #expect(run(125, 130, free: false, skew: 20) == .violated, "past the skew")
    }

    @Test("a multi-seat hold half seen: the seat shown free after the hold was answered is the lie")
    func halfSeenMultiSeatHold() {
        var h = Script()
        h.hold("u1", ["A1", "A2"], 0, 10, id: "h1")
        h.browse("u2", free: ["A2", "A3"], 20, 30, seq: 2)
        #expect(h.verdicts() == ["A1": .ok, "A2": .violated, "A3": .ok])
    }

    @Test("a multi-seat hold seen half done by a seat map asked while it was under way: each seat alone is explained, the pair is not")
    func concurrentHalfSeenHold() {
        func run(free: [String]) -> (
            verdicts: [String: LinearizabilityReport.Verdict], explanation: String?, window: [LinearizabilityReport.WindowOperation]
        ) {
            var h = Script()
            h.add(0, "u1", .invoke, "hold", ["seats": ["A1", "A2"].value])
            h.browse("u2", free: free, 20, 30, seq: 1)
            h.add(100, "u1", .ok, "hold", ["seats": ["A1", "A2"].value, "hold": .string("h1"), "expires_at_ns": .int(1_000_000)])
            let seat = h.report().seats.first { $0.seat == "A1" }
            return (h.verdicts(), seat?.explanation, seat?.window ?? [])
        }
        let half = run(free: ["A2", "A3"])
        #expect(half.verdicts == ["A1": .violated, "A2": .violated, "A3": .ok])
        #expect(
            half.explanation?.contains("hold of u1 (line 1, 4) must take effect on seat A1 before what u2 was shown by browse (line 2, 3)") == true,
            "\(half.explanation ?? "")")
        #expect(half.explanation?.contains("and on seat A2 after it: no single instant changed all its seats") == true)
        let drawn = half.window.map { "\($0.process): \($0.label)" }
        #expect(drawn == ["u1, A1: hold", "u2, A1: shown held or booked", "u1, A2: hold", "u2, A2: shown free"], "\(drawn)")
        #expect(run(free: ["A1", "A2", "A3"]).verdicts == ["A1": .ok, "A2": .ok, "A3": .ok], "not yet done on either seat")
        #expect(run(free: ["A3"]).verdicts == ["A1": .ok, "A2": .ok, "A3": .ok], "done on both")
    }

    @Test("two multi-seat holds each seen half done by its own seat map: both pairs' seats are violated, not only the first's")
    func twoHalfSeenHolds() {
        var h = Script()
        h.add(0, "u1", .invoke, "hold", ["seats": ["A1", "A2"].value])
        h.browse("u2", free: ["A2", "A3", "B1", "B2"], 20, 30, seq: 1)
        h.add(100, "u1", .ok, "hold", ["seats": ["A1", "A2"].value, "hold": .string("h1"), "expires_at_ns": .int(1_000_000)])
        h.add(200, "u3", .invoke, "hold", ["seats": ["B1", "B2"].value])
        h.browse("u2", free: ["A3", "B2"], 220, 230, seq: 2)
        h.add(300, "u3", .ok, "hold", ["seats": ["B1", "B2"].value, "hold": .string("h3"), "expires_at_ns": .int(1_000_000)])
        #expect(h.verdicts() == ["A1": .violated, "A2": .violated, "A3": .ok, "B1": .violated, "B2": .violated])
    }

    @Test("a pair the multi-seat check has no searches left for makes its seats unknown, never ok")
    func multiSeatBudget() {
        var h = Script()
        h.add(0, "u1", .invoke, "hold", ["seats": ["A1", "A2"].value])
        h.browse("u2", free: ["A2", "A3"], 20, 30, seq: 1)
        h.add(100, "u1", .ok, "hold", ["seats": ["A1", "A2"].value, "hold": .string("h1"), "expires_at_ns": .int(1_000_000)])
        let seats = SeatHistories(HistoryIndex(h.records)).seats["e"] ?? [:]
        let judged: [String: LinearizabilityReport.Verdict] = ["A1": .ok, "A2": .ok, "A3": .ok]
        let starved = MultiSeatCheck(event: "e", seats: seats, skewNs: 0, lossesNs: [], budget: 200_000, searches: 0).run(judged: judged)
        #expect(starved["A1"]?.verdict == .unknown && starved["A2"]?.verdict == .unknown && starved["A3"] == nil)
        let fed = MultiSeatCheck(event: "e", seats: seats, skewNs: 0, lossesNs: [], budget: 200_000, searches: 4).run(judged: judged)
        #expect(fed["A1"]?.verdict == .violated && fed["A2"]?.verdict == .violated)
    }

    @Test("a snapshot that shows a multi-seat hold on one seat and not on the other, received while the hold was under way")
    func snapshotHalfSeenHold() {
        func run(locked: [String: HistoryValue]) -> [String: LinearizabilityReport.Verdict] {
            var h = Script()
            h.add(0, "u1", .invoke, "hold", ["seats": ["A1", "A2"].value])
            h.add(50, "s1", .observe, "snapshot", ["seq": .int(1), "booked": .array([]), "locked": .object(locked)])
            h.add(100, "u1", .ok, "hold", ["seats": ["A1", "A2"].value, "hold": .string("h1"), "expires_at_ns": .int(1_000_000)])
            return h.verdicts()
        }
        #expect(run(locked: ["A1": .string("u1")]) == ["A1": .violated, "A2": .violated, "A3": .ok])
        #expect(run(locked: ["A1": .string("u1"), "A2": .string("u1")]) == ["A1": .ok, "A2": .ok, "A3": .ok])
    }

    @Test("two multi-seat holds that each seat orders differently: every seat explained alone, no one order of the two holds")
    func crossedMultiSeatHolds() {
        func run(crossed: Bool) -> [String: LinearizabilityReport.Verdict] {
            var h = Script()
            h.hold("u1", ["A1", "A2"], 0, 100, id: "h1")
            h.hold("u2", ["A1", "A2"], 0, 100, id: "h2")
            h.release("u1", hold: "h1", ["A1", "A2"], 10, 100)
            h.release("u2", hold: "h2", ["A1", "A2"], 10, 100)
            var messages: [(String, String, String?)] = [("seat_locked", "A1", "u1"), ("seat_locked", "A2", "u2"), ("seat_released", "A1", nil)]
            messages += [("seat_released", "A2", nil)]
            if crossed { messages += [("seat_locked", "A1", "u2"), ("seat_locked", "A2", "u1")] }
            for (seq, (f, seat, user)) in messages.enumerated() {
                var value: [String: HistoryValue] = ["seat": .string(seat), "seq": .int(Int64(seq + 1))]
                if let user { value["user"] = .string(user) }
                h.add(50 + Int64(seq), "s1", .observe, f, value)
            }
            return h.verdicts()
        }
        #expect(run(crossed: true) == ["A1": .violated, "A2": .violated, "A3": .ok])
        #expect(run(crossed: false) == ["A1": .ok, "A2": .ok, "A3": .ok])
    }

    @Test("a release answered 200 that never took effect: the seat is still shown taken afterwards")
    func releaseThatNeverHappened() {
        var h = Script()
        h.hold("u1", ["A1"], 0, 10, id: "h1")
        h.release("u1", hold: "h1", ["A1"], 20, 30)
        h.browse("u2", free: ["A2", "A3"], 40, 50, seq: 2)
        #expect(h.verdicts()["A1"] == .violated)
    }

    @Test("a seat booked by one user and then held by another, with nothing freeing it: violated")
    func soldThenHeld() {
        var h = Script()
        h.hold("u1", ["A1"], 0, 10, id: "h1")
        h.checkout("u1", ["A1"], 20, 30, booking: "b1")
        h.hold("u2", ["A1"], 40, 50, id: "h2")
        #expect(h.verdicts()["A1"] == .violated)
    }

    @Test("a checkout retried with its key answers the same booking: a replay, not a second sale; a cancel frees the seat")
    func replayAndCancel() {
        var h = Script()
        h.hold("u1", ["A1"], 0, 10, id: "h1")
        h.checkout("u1", ["A1"], 20, 30, booking: "b1", key: "k")
        h.checkout("u1/2", ["A1"], 40, 50, booking: "b1", key: "k")
        h.browse("u2", free: ["A2", "A3"], 60, 70, seq: 2)
        h.add(80, "u1", .invoke, "cancel", ["booking": .string("b1")])
        h.add(90, "u1", .ok, "cancel", ["booking": .string("b1"), "seats": ["A1"].value])
        h.browse("u2", free: ["A1", "A2", "A3"], 100, 110, seq: 3)
        #expect(h.verdicts()["A1"] == .ok)
        h.browse("u2", free: ["A2", "A3"], 120, 130, seq: 3)
        #expect(h.verdicts()["A1"] == .violated, "booked again with nothing to book it")
    }

    @Test("live messages are reads in seq order: a snapshot newer than a seat_locked shows the seat free with nothing to free it")
    func snapshotNewerThanItsState() {
        func run(expires: Int64) -> LinearizabilityReport.Verdict? {
            var h = Script()
            h.hold("u1", ["A1"], 0, 10, id: "h1", expires: expires)
            h.add(20, "s1", .observe, "seat_locked", ["seat": .string("A1"), "user": .string("u1"), "seq": .int(5)])
            h.add(30, "s2", .observe, "snapshot", ["seq": .int(6), "booked": .array([]), "locked": .object([:])])
            return h.verdicts()["A1"]
        }
        #expect(run(expires: 1_000_000) == .violated)
        #expect(run(expires: 25) == .ok, "the hold may have lapsed before the snapshot")
    }

    @Test("holds may vanish where the hot state was lost, and only there")
    func hotStateLoss() {
        func run(loss: Bool) -> LinearizabilityReport.Verdict? {
            var h = Script()
            h.hold("u1", ["A1"], 0, 10, id: "h1")
            if loss { h.add(50, "nemesis", .fault, "hot_state_loss", ["generation": .int(2)]) }
            h.browse("u2", free: ["A1", "A2", "A3"], 60, 70, seq: 9)
            return h.verdicts()["A1"]
        }
        #expect(run(loss: true) == .ok)
        #expect(run(loss: false) == .violated)
    }

    @Test("a checkout that outlived a hot-state loss books over a hold granted since; that hold's extend and release then change nothing there")
    func holdOverTakenByCheckoutAcrossLoss() {
        func run(freedAfter: Bool) -> LinearizabilityReport.Verdict? {
            var h = Script()
            h.hold("u1", ["A1"], 0, 10, id: "h1")
            h.add(20, "u1", .invoke, "checkout", ["seats": ["A1"].value, "key": "k1"])
            h.add(50, "nemesis", .fault, "hot_state_loss", ["generation": .int(2)])
            h.hold("u2", ["A1", "A2"], 60, 70, id: "h2")
            h.add(80, "u1", .ok, "checkout", ["seats": ["A1"].value, "booking": "b1"])
            h.add(90, "u2", .invoke, "extend", ["hold": "h2"])
            h.add(95, "u2", .ok, "extend", ["hold": "h2", "expires_at_ns": .int(2_000_000)])
            h.release("u2", hold: "h2", ["A1", "A2"], 100, 110)
            h.browse("u3", free: freedAfter ? ["A1", "A2", "A3"] : ["A2", "A3"], 120, 130, seq: 9)
            return h.verdicts()["A1"]
        }
        #expect(run(freedAfter: false) == .ok)
        #expect(run(freedAfter: true) == .violated, "the release freed a seat booked by someone else")
    }

    @Test("a search over its budget says unknown, never ok")
    func budget() {
        var h = Script()
        for user in 1...12 {
            h.add(Int64(user), "u\(user)", .invoke, "hold", ["seats": ["A1"].value])
            h.add(1_000 + Int64(user), "u\(user)", .info, "hold", error: "timeout")
        }
        h.browse("u99", free: ["A2", "A3"], 2_000, 2_010, seq: 1)
        h.browse("u99", free: ["A1", "A2", "A3"], 2_020, 2_030, seq: 2)
        h.browse("u99", free: ["A1", "A2", "A3"], 2_040, 2_050, seq: 3)
        h.browse("u99", free: ["A2"], 2_060, 2_070, seq: 4)
        #expect(h.verdicts(budget: 5)["A1"] == .unknown)
        #expect(h.verdicts()["A1"] == .ok)
    }

    @Test("the search skips what is done a word at a time and finds every position still open")
    func bitSetNextClear() {
        var state: UInt64 = 7
        for count in [1, 63, 64, 65, 200, 1_000] {
            var set = BitSet(count: count)
            var naive = [Bool](repeating: false, count: count)
            for _ in 0..<(count * 3 / 4) {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let position = Int(state >> 33) % count
                set[position] = true
                naive[position] = true
            }
            for start in 0...count {
                let expected = (start..<count).first { !naive[$0] } ?? count
                let found = set.nextClear(from: start)
                #expect(min(found, count) == expected, "\(count) positions, from \(start)")
            }
        }
    }

    @Test("the per-seat lists are the same however the operations are cut into parallel parts")
    func partsJoinInOrder() async throws {
        var configuration = SimConfiguration(seed: 11)
        configuration.users = 400
        let index = HistoryIndex(try await SimRunner.run(configuration, check: false).history)
        let whole = SeatHistories(index, partSize: .max)
        #expect(whole.seats.values.reduce(0) { $0 + $1.count } > 10)
        #expect(index.operations.count > 1_000)
        for partSize in [1, 7, 100] {
            let same = SeatHistories(index, partSize: partSize).seats == whole.seats
            #expect(same, "parts of \(partSize) operations")
        }
    }
}

extension [String] {
    var value: HistoryValue { .array(map { .string($0) }) }
}
