import Testing

@testable import PulseHistory
@testable import PulseSim

@Suite("History checker: cancellations (re-sale, durable cancels, what subscribers see)")
struct CancellationCheckerTests {
    /// u1 books A1 and cancels it; u2 buys A1 again; a subscriber sees it all in seq order.
    static func resale() -> HistoryBuilder {
        var h = HistoryBuilder()
        h.snapshot(0, "s1", seq: 100)
        h.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 10_000)
        h.see(2, "s1", "seat_locked", seq: 101, seat: "A1", user: "u1")
        h.checkout("u1", ["A1"], booking: "b1", invoke: 3, end: 4)
        h.see(4, "s1", "seats_booked", seq: 102, seats: ["A1"])
        h.cancel("u1", booking: "b1", seats: ["A1"], invoke: 5, end: 6)
        h.see(6, "s1", "seats_released", seq: 103, seats: ["A1"], reason: "cancelled")
        h.hold("u2", ["A1"], id: "h2", invoke: 7, ok: 8, expires: 10_000, fence: 2)
        h.see(8, "s1", "seat_locked", seq: 104, seat: "A1", user: "u2")
        h.checkout("u2", ["A1"], booking: "b2", invoke: 9, end: 10)
        h.see(10, "s1", "seats_booked", seq: 105, seats: ["A1"])
        h.snapshot(3_000, "s2", seq: 105, booked: ["A1"])
        h.see(3_100, "s1", "joined", seq: 105)
        h.finalBookings(3_200, statuses: [("b1", "u1", ["A1"], "cancelled"), ("b2", "u2", ["A1"], "confirmed")])
        return h
    }

    @Test("a seat sold again after its booking's cancel breaks nothing; every invariant that reads cancels had something to check")
    func resaleIsFine() {
        #expect(Self.resale().messages == [])
        let evidence = HistoryChecker.evidence(Self.resale().records)
        #expect(evidence[.cancellationVisible, default: 0] > 0 && evidence[.durableAck, default: 0] > 0)
    }

    @Test("no-double-booking: a re-sale before the cancel was even sent is two confirmed bookings at once")
    func resaleBeforeCancel() {
        var h = HistoryBuilder()
        h.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 10_000)
        h.checkout("u1", ["A1"], booking: "b1", invoke: 3, end: 4)
        h.hold("u2", ["A1"], id: "h2", invoke: 5, ok: 6, expires: 10_000, fence: 2)
        h.checkout("u2", ["A1"], booking: "b2", invoke: 7, end: 8)
        h.cancel("u1", booking: "b1", seats: ["A1"], invoke: 9, end: 10)
        h.finalBookings(3_000, statuses: [("b1", "u1", ["A1"], "cancelled"), ("b2", "u2", ["A1"], "confirmed")])
        #expect(h.brokenInvariants.contains(.noDoubleBooking), "\(h.messages)")
        var refused = Self.resale()
        refused.records.removeAll { $0.f == "cancel" }
        #expect(refused.brokenInvariants.contains(.noDoubleBooking), "without the cancel, b1 and b2 overlap")
    }

    @Test("durable-ack: an acknowledged cancel the final read forgot, and a cancelled booking nobody cancelled")
    func cancelDurability() {
        var lost = Self.resale()
        lost.records.removeLast()
        lost.finalBookings(3_200, statuses: [("b1", "u1", ["A1"], "confirmed"), ("b2", "u2", ["A1"], "confirmed")])
        #expect(lost.messages.contains { $0.hasPrefix("durable-ack: the cancellation of booking b1") }, "\(lost.messages)")
        var phantom = HistoryBuilder()
        phantom.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 10_000)
        phantom.checkout("u1", ["A1"], booking: "b1", invoke: 3, end: 4)
        phantom.cancel("u1", booking: "b1", seats: [], invoke: 5, end: 6, outcome: .fail)
        phantom.finalBookings(3_000, statuses: [("b1", "u1", ["A1"], "cancelled")])
        #expect(phantom.messages == ["durable-ack: booking b1 is cancelled in the final read, but no cancel of it may have succeeded"])
        var unanswered = phantom
        unanswered.records = unanswered.records.map { record in
            var record = record
            if record.f == "cancel", record.type == .fail { record.type = .info }
            return record
        }
        #expect(unanswered.messages == [], "an unanswered cancel may have landed")
    }

    @Test("cancellation-visible: a snapshot after the cancel's seq still showing the seat booked, or before it showing it free")
    func snapshotsAgree() {
        var stale = Self.resale()
        stale.snapshot(3_150, "s3", seq: 103, booked: ["A1"])
        #expect(
            stale.messages.contains {
                $0.contains("cancellation-visible: s3: a snapshot at seq 103 shows the seat booked, but seq 103 left it free")
            }, "\(stale.messages)")
        var early = Self.resale()
        early.snapshot(3_150, "s3", seq: 102, booked: [])
        #expect(early.brokenInvariants == [.cancellationVisible], "\(early.messages)")
        var unknown = Self.resale()
        unknown.records.removeAll { $0.f == "seat_locked" && $0.int("seq") == 104 }
        unknown.snapshot(3_150, "s3", seq: 104, booked: ["A1"])
        #expect(!unknown.messages.contains { $0.hasPrefix("cancellation-visible: s3") }, "seq 104 was heard by nobody: no judgement")
    }

    @Test("cancellation-visible and broadcast-order: a cancel nobody was told of, and a seats_released of a seat not booked")
    func silentAndImpossible() {
        var silent = Self.resale()
        silent.records.removeAll { $0.f == "seats_released" }
        silent.records.removeAll {
            $0.f == "seat_locked" && $0.int("seq") == 104 || $0.f == "seats_booked" && $0.int("seq") == 105 || $0.f == "joined"
        }
        silent.records.removeAll { $0.f == "snapshot" && $0.process == "s2" }
        silent.see(3_100, "s1", "seat_locked", seq: 104, seat: "B1", user: "u3")
        #expect(silent.messages.contains("cancellation-visible: s1 was never told that booking b1 was cancelled"), "\(silent.messages)")
        var impossible = HistoryBuilder()
        impossible.snapshot(0, "s1", seq: 100)
        impossible.see(1, "s1", "seats_released", seq: 101, seats: ["A1"], reason: "cancelled")
        #expect(impossible.brokenInvariants == [.broadcastOrder])
    }
}
