import Testing

@testable import PulseHistory
@testable import PulseSim

@Suite("History checker: each invariant on small good and bad histories")
struct CheckerTests {
    /// Two users race for A1: one holds and books it, the other is refused; a subscriber sees it all.
    static func goodRace() -> HistoryBuilder {
        var h = HistoryBuilder()
        h.add(0, "harness", .observe, "config", ["seats_per_event": .object(["e": 10]), "held_seats_max": 2])
        h.snapshot(0, "s1", seq: 100)
        h.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 10_000)
        h.add(2, "u2", .invoke, "hold", ["event": "e", "seats": ["A1"]])
        h.see(2, "s1", "seat_locked", seq: 101, seat: "A1", user: "u1")
        h.add(3, "u2", .fail, "hold", ["event": "e"], error: "seat_unavailable")
        h.checkout("u1", ["A1"], booking: "b1", invoke: 4, end: 6, key: "k1")
        h.see(6, "s1", "seats_booked", seq: 102, seats: ["A1"])
        h.finalBookings(20_000, [("b1", "u1", ["A1"])])
        return h
    }

    @Test("a correct race breaks nothing")
    func goodHistory() {
        #expect(HistoryChecker.check(Self.goodRace().records) == [])
    }

    @Test("evidence: every invariant of a full race had something to check; a subscriber's stream alone gives only broadcast-order any")
    func evidence() {
        let full = HistoryChecker.evidence(Self.goodRace().records)
        for invariant in Invariant.allCases {
            #expect(full[invariant, default: 0] > 0, "\(invariant.rawValue) had nothing to check in the full race")
        }
        var streamOnly = HistoryBuilder()
        streamOnly.snapshot(0, "s1", seq: 100)
        streamOnly.see(1, "s1", "seat_locked", seq: 101, seat: "A1", user: "u1")
        let partial = HistoryChecker.evidence(streamOnly.records)
        #expect(partial[.broadcastOrder, default: 0] == 2)
        #expect(Invariant.allCases.filter { $0 != .broadcastOrder }.allSatisfy { partial[$0, default: 0] == 0 }, "\(partial)")
        #expect(HistoryChecker.evidence([]).values.allSatisfy { $0 == 0 })
    }

    @Test("a second client of a user (u1/2) acts for that user: its checkout of the user's hold is fenced and idempotent as the user's")
    func secondClientOfAUser() {
        var h = HistoryBuilder()
        h.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 1_000)
        h.checkout("u1", ["A1"], booking: "b1", invoke: 3, end: 6, key: "k")
        h.checkout("u1/2", ["A1"], booking: "b1", invoke: 4, end: 7, key: "k")
        h.finalBookings(8, [("b1", "u1", ["A1"])])
        #expect(h.messages == [], "the racing retry is the user's own")
        var other = h
        other.checkout("u1/2", ["A1"], booking: "b2", invoke: 5, end: 9, key: "k")
        #expect(other.brokenInvariants.contains(.idempotentCheckout), "two bookings for one key of one user, whichever client asked")
        var stranger = HistoryBuilder()
        stranger.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 1_000)
        stranger.checkout("u2/2", ["A1"], booking: "b1", invoke: 3, end: 6)
        #expect(stranger.brokenInvariants.contains(.bookingRequiresLiveHold), "u2's second client is not u1")
    }

    @Test("no-double-booking: two bookings of one seat, named with their lines")
    func doubleBooking() throws {
        var h = Self.goodRace()
        h.checkout("u2", ["A1"], booking: "b2", invoke: 7, end: 8)
        let violation = try #require(HistoryChecker.check(h.records).first { $0.invariant == .noDoubleBooking })
        #expect(violation.seat == "A1")
        #expect(violation.witnessLines.contains(h.records.first { $0.string("booking") == "b2" }!.line))
    }

    @Test("hold-exclusive: a second hold granted while the first is surely live")
    func holdExclusive() {
        var h = HistoryBuilder()
        h.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 5_000)
        h.hold("u2", ["A1"], id: "h2", invoke: 2, ok: 3, expires: 6_000)
        #expect(h.brokenInvariants == [.holdExclusive])
        var later = HistoryBuilder()
        later.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 5_000)
        later.hold("u2", ["A1"], id: "h2", invoke: 5_001, ok: 5_002, expires: 9_000)
        #expect(later.brokenInvariants == [], "after the expiry the seat is free")
    }

    @Test("booking-requires-live-hold: a paused checkout lands after another user got the seat (seed race 2)")
    func unfencedCheckout() {
        var h = HistoryBuilder()
        h.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 5_000)
        h.add(4_000, "u1", .invoke, "checkout", ["event": "e", "seats": ["A1"]])
        h.hold("u2", ["A1"], id: "h2", invoke: 6_000, ok: 6_001, expires: 16_000)
        h.add(7_000, "u1", .ok, "checkout", ["event": "e", "seats": ["A1"], "booking": "b1"])
        #expect(h.brokenInvariants == [.bookingRequiresLiveHold])
        var fenced = HistoryBuilder()
        fenced.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 5_000)
        fenced.add(4_000, "u1", .invoke, "checkout", ["event": "e", "seats": ["A1"]])
        fenced.hold("u2", ["A1"], id: "h2", invoke: 6_000, ok: 6_001, expires: 16_000)
        fenced.add(7_000, "u1", .fail, "checkout", ["event": "e"], error: "hold_superseded")
        #expect(fenced.brokenInvariants == [])
        // A clock jump moves expiries but loses no hold: fencing is still owed across it. A lost
        // hot state restarts fences: there only the durable store arbitrates.
        var jumped = h
        jumped.add(2_000, "nemesis", .fault, "clock_jump", ["by_ms": 3_000, "offset_ms": 3_000])
        #expect(jumped.brokenInvariants.contains(.bookingRequiresLiveHold))
        var lost = h
        lost.add(2_000, "nemesis", .fault, "hot_state_loss", ["generation": 2])
        #expect(!lost.brokenInvariants.contains(.bookingRequiresLiveHold))
        var noHold = HistoryBuilder()
        noHold.checkout("u3", ["B1"], booking: "b9", invoke: 0, end: 1)
        #expect(noHold.brokenInvariants == [.bookingRequiresLiveHold])
    }

    @Test("release-by-owner-only: a stale release removes another user's hold (seed race 1)")
    func staleRelease() {
        var h = HistoryBuilder()
        h.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 5_000)
        h.hold("u2", ["A1"], id: "h2", invoke: 6_000, ok: 6_001, expires: 16_000)
        h.add(7_000, "u1", .invoke, "release", ["event": "e", "hold": "h1"])
        h.add(7_001, "u1", .ok, "release", ["event": "e", "released": ["A1"]])
        #expect(h.brokenInvariants == [.releaseByOwnerOnly])
        var own = HistoryBuilder()
        own.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 5_000)
        own.add(2_000, "u1", .invoke, "release", ["event": "e", "hold": "h1"])
        own.add(2_001, "u1", .ok, "release", ["event": "e", "released": ["A1"]])
        own.hold("u2", ["A1"], id: "h2", invoke: 3_000, ok: 3_001, expires: 16_000)
        #expect(own.brokenInvariants == [])
    }

    @Test("expiry-honoured: expiries are broadcast, within the grace and never early")
    func expiry() {
        func history(release: (ms: Int64, reason: String)?) -> HistoryBuilder {
            var h = HistoryBuilder()
            h.snapshot(0, "s1", seq: 10)
            h.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 5_000)
            h.see(2, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
            if let release { h.see(release.ms, "s1", "seat_released", seq: 12, seat: "A1", reason: release.reason) }
            h.hold("u2", ["B1"], id: "h2", invoke: 8_000, ok: 8_001, expires: 90_000)
            h.see(8_001, "s1", "seat_locked", seq: release == nil ? 12 : 13, seat: "B1", user: "u2")
            return h
        }
        #expect(history(release: (5_200, "expired")).brokenInvariants == [])
        #expect(history(release: nil).brokenInvariants == [.expiryHonoured], "silent expiry")
        #expect(history(release: (3_000, "expired")).brokenInvariants == [.expiryHonoured], "early expiry")
        #expect(history(release: (7_000, "expired")).brokenInvariants == [.expiryHonoured], "later than the grace")

        var racing = HistoryBuilder()
        racing.snapshot(0, "s1", seq: 10)
        racing.hold("u1", ["A1"], id: "h1", invoke: 1, ok: 2, expires: 5_000)
        racing.see(2, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
        racing.add(5_000, "u2", .invoke, "hold", ["event": "e", "seats": ["A1"]])
        racing.see(5_000, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired")
        racing.add(5_000, "u2", .ok, "hold", ["event": "e", "seats": ["A1"], "hold": "h2", "fence": 2, "expires_at_ns": .int(10_000_000_000)])
        racing.see(5_000, "s1", "seat_locked", seq: 13, seat: "A1", user: "u2")
        #expect(racing.brokenInvariants == [], "the expiry belongs to the hold granted before it, not to the one racing it")

        var away = history(release: nil)
        away.records.removeAll { $0.process == "s1" && $0.timeNs > 2_000_000 }
        away.add(4_900, "nemesis", .fault, "disconnect", ["process": "s1", "ms": 3_000])
        away.see(7_900, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired")
        away.see(8_001, "s1", "seat_locked", seq: 13, seat: "B1", user: "u2")
        #expect(away.brokenInvariants == [], "a subscriber away during the expiry hears of it when it rejoins")

        // A real deployment's fault (a paused Redis) over the expiry: announced one grace after it
        // heals at the latest; later than that, or with no fault, it is late.
        func paused(announcedMs: Int64, faultEndMs: Int64?) -> HistoryBuilder {
            var h = history(release: nil)
            h.records.removeAll { $0.process == "s1" && $0.timeNs > 2_000_000 }
            if let faultEndMs {
                h.add(4_000, "nemesis", .fault, "pause_process", ["target": "redis", "end_ns": .int(faultEndMs * 1_000_000)])
            }
            h.see(announcedMs, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired")
            h.see(max(announcedMs, 8_001) + 1, "s1", "seat_locked", seq: 13, seat: "B1", user: "u2")
            return h
        }
        #expect(paused(announcedMs: 7_500, faultEndMs: 7_000).brokenInvariants == [], "announced once the paused store is back")
        #expect(paused(announcedMs: 7_500, faultEndMs: nil).brokenInvariants == [.expiryHonoured], "late with no fault to explain it")
        #expect(paused(announcedMs: 9_500, faultEndMs: 7_000).brokenInvariants == [.expiryHonoured], "later than one grace after the fault")
    }

    @Test("clock jumps, crashes, late grants and lost extensions: what the checker can and cannot hold a hold to")
    func clockAndCrashFaults() {
        // The server's clock runs 2 s ahead after a jump: a hold it says expires at 7 s (server
        // time) expires at 5 s of history time, and is announced then.
        var ahead = HistoryBuilder()
        ahead.snapshot(0, "s1", seq: 10)
        ahead.add(1, "nemesis", .fault, "clock_jump", ["by_ms": 2_000, "offset_ms": 2_000])
        ahead.hold("u1", ["A1"], id: "h1", invoke: 10, ok: 11, expires: 7_011)
        ahead.see(11, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
        ahead.see(5_100, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired")
        ahead.snapshot(9_000, "s1", seq: 12)
        #expect(ahead.brokenInvariants == [])
        var unexplained = ahead
        unexplained.records.removeAll { $0.f == "clock_jump" }
        #expect(unexplained.brokenInvariants == [.expiryHonoured], "without the jump the expiry came 2 s early")
        // One instance of a deployment stepped 2 s ahead (`clock_step`): the hold's expiry is the
        // one the server answered, however that instance's clock runs; an expiry 2 s before it is early.
        var stepped = HistoryBuilder()
        stepped.snapshot(0, "s1", seq: 10)
        stepped.add(1, "nemesis", .fault, "clock_step", ["target": "api1", "by_ms": 2_000, "end_ns": .int(9_000_000_000)])
        stepped.hold("u1", ["A1"], id: "h1", invoke: 10, ok: 11, expires: 7_011)
        stepped.see(11, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
        stepped.see(5_100, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired")
        stepped.snapshot(9_000, "s1", seq: 12)
        #expect(stepped.brokenInvariants == [.expiryHonoured], "a step of one instance's clock excuses no early expiry")

        // An extension stalled across a jump of the server's clock 3 s back (found by the
        // generated fault mixes): the server wrote its expiry (8.745 s) before the jump and
        // expired the hold then, so an expiry announced before the jump is not early.
        var across = HistoryBuilder()
        across.snapshot(0, "s1", seq: 10)
        across.hold("u1", ["A1"], id: "h1", invoke: 1_239, ok: 1_239, expires: 6_239)
        across.see(1_250, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
        across.add(3_745, "u1", .invoke, "extend", ["event": "e", "hold": "h1"])
        across.see(9_115, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired")
        across.add(9_117, "nemesis", .fault, "clock_jump", ["by_ms": -3_000, "offset_ms": -3_000])
        across.add(10_245, "u1", .ok, "extend", ["event": "e", "hold": "h1", "expires_at_ns": .int(8_745_000_000)])
        across.snapshot(12_000, "s1", seq: 12)
        #expect(across.brokenInvariants == [], "\(HistoryChecker.check(across.records))")

        // A hold granted after its own expiry (the request read the clock, then paused): its
        // expiry is due right after the grant, not at a time already past.
        func late(announced: Bool) -> HistoryBuilder {
            var h = HistoryBuilder()
            h.snapshot(0, "s1", seq: 10)
            h.hold("u1", ["A1"], id: "h1", invoke: 10, ok: 8_000, expires: 5_010)
            h.see(8_000, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
            if announced { h.see(8_200, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired") }
            h.snapshot(9_500, "s1", seq: announced ? 12 : 11, locked: announced ? [:] : ["A1": "u1"])
            return h
        }
        #expect(late(announced: true).brokenInvariants == [])
        #expect(late(announced: false).brokenInvariants == [.expiryHonoured])

        // A crash takes the embedded hot state with it: the hold is gone, not silently expired.
        func crash(recorded: Bool) -> HistoryBuilder {
            var h = HistoryBuilder()
            h.snapshot(0, "s1", seq: 10)
            h.hold("u1", ["A1"], id: "h1", invoke: 10, ok: 11, expires: 5_011)
            h.see(11, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
            if recorded { h.add(4_000, "nemesis", .fault, "server_crash", ["down_ms": 3_000]) }
            h.snapshot(9_000, "s1", seq: 11, locked: ["A1": "u1"])
            return h
        }
        #expect(crash(recorded: true).brokenInvariants == [])
        #expect(crash(recorded: false).brokenInvariants == [.expiryHonoured])
        #expect(HistoryIndex(crash(recorded: true).records).disconnections(of: "s1") == [4_000_000_000...7_000_000_000])

        // An extension whose answer was lost may have moved the expiry: no deadline is known.
        func extended(_ answer: HistoryRecord.Kind) -> HistoryBuilder {
            var h = HistoryBuilder()
            h.snapshot(0, "s1", seq: 10)
            h.hold("u1", ["A1"], id: "h1", invoke: 10, ok: 11, expires: 5_011)
            h.see(11, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
            h.add(1_000, "u1", .invoke, "extend", ["event": "e", "hold": "h1"])
            h.add(4_000, "u1", answer, "extend", ["event": "e"], error: "timeout")
            h.snapshot(9_000, "s1", seq: 11, locked: ["A1": "u1"])
            return h
        }
        #expect(extended(.info).brokenInvariants == [])
        #expect(extended(.fail).brokenInvariants == [.expiryHonoured], "a refused extension moved nothing")

        // A hold whose answer was lost was granted after all; its expiry is not an early expiry
        // of the same user's next hold of the seat. So with a refused hold whose request was sent
        // twice: the copy may have been granted, its answer reaching nobody.
        func regrant(firstAnswer: HistoryRecord.Kind, duplicated: Bool = false) -> HistoryBuilder {
            var h = HistoryBuilder()
            h.snapshot(0, "s1", seq: 10)
            h.add(10, "u1", .invoke, "hold", ["event": "e", "seats": ["A1"]])
            if duplicated { h.add(10, "nemesis", .fault, "request_duplicate", ["process": "u1"]) }
            h.see(11, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
            h.add(3_010, "u1", firstAnswer, "hold", ["event": "e"], error: "timeout")
            h.hold("u1", ["A1"], id: "h2", invoke: 5_005, ok: 5_006, expires: 10_006)
            h.see(5_011, "s1", "seat_released", seq: 12, seat: "A1", reason: "expired")
            h.see(5_011, "s1", "seat_locked", seq: 13, seat: "A1", user: "u1")
            h.see(10_100, "s1", "seat_released", seq: 14, seat: "A1", reason: "expired")
            return h
        }
        #expect(regrant(firstAnswer: .info).brokenInvariants == [])
        #expect(regrant(firstAnswer: .fail).brokenInvariants.contains(.expiryHonoured), "a refused hold was never granted")
        #expect(regrant(firstAnswer: .fail, duplicated: true).brokenInvariants == [], "a refused hold's copy may have been granted")
    }

    @Test("broadcast-order: gaps, disagreements, missing seqs and releases of free seats are caught")
    func broadcastOrder() {
        var gap = HistoryBuilder()
        gap.snapshot(0, "s1", seq: 10)
        gap.see(1, "s1", "seat_locked", seq: 12, seat: "A1", user: "u1")
        #expect(gap.brokenInvariants == [.broadcastOrder])

        var disagree = HistoryBuilder()
        disagree.see(1, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
        disagree.see(1, "s2", "seat_locked", seq: 11, seat: "A2", user: "u1")
        #expect(disagree.brokenInvariants == [.broadcastOrder])

        var unnumbered = HistoryBuilder()
        unnumbered.see(1, "s1", "seat_locked", seq: nil, seat: "A1", user: "u1")
        #expect(unnumbered.brokenInvariants == [.broadcastOrder])

        // A seed-style stream (a seat map, then unnumbered changes): flagged once, and its changes
        // are still checked as transitions of what the browser shows.
        var seedStream = HistoryBuilder()
        seedStream.snapshot(0, "s1", seq: nil)
        seedStream.see(1, "s1", "seat_locked", seq: nil, seat: "A1", user: "u1")
        seedStream.see(2, "s1", "seats_booked", seq: nil, seats: ["A1"])
        seedStream.see(3, "s1", "seat_locked", seq: nil, seat: "A2", user: "u2")
        #expect(seedStream.messages == ["broadcast-order: s1: snapshot without seq: this stream's order and gaps cannot be verified"])
        seedStream.see(4, "s1", "seat_released", seq: nil, seat: "A1")
        #expect(seedStream.messages.last == "broadcast-order: s1: seat_released of a seat that was booked", "seed race 4 over Socket.IO")

        var blind = HistoryBuilder()
        blind.snapshot(0, "s1", seq: 10, locked: ["A2": "u2"])
        blind.see(1, "s1", "seat_released", seq: 11, seat: "A1", reason: "released")
        #expect(blind.brokenInvariants == [.broadcastOrder], "a release of a seat nobody held (seed race 4)")

        var resync = HistoryBuilder()
        resync.snapshot(0, "s1", seq: 10)
        resync.see(1, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
        resync.snapshot(2, "s1", seq: 1 << 33)
        resync.see(3, "s1", "seat_locked", seq: (1 << 33) + 1, seat: "A2", user: "u1")
        #expect(resync.brokenInvariants == [], "a snapshot of a newer generation restarts the count")
    }

    @Test("broadcast-order: event_deleted is numbered like any change and ends the stream")
    func eventDeleted() {
        func deleted(_ extra: (inout HistoryBuilder) -> Void = { _ in }) -> HistoryBuilder {
            var history = HistoryBuilder()
            history.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 1_000)
            history.snapshot(0, "s1", seq: 10)
            history.see(1, "s1", "seat_locked", seq: 11, seat: "A1", user: "u1")
            history.see(2, "s1", "event_deleted", seq: 12)
            extra(&history)
            return history
        }
        #expect(deleted().brokenInvariants == [], "the hold went with the event before it expired")
        #expect(
            deleted { $0.see(3, "s1", "seat_locked", seq: 13, seat: "A2", user: "u2") }.messages
                == ["broadcast-order: s1: seat_locked after the event was deleted"])
        var gap = HistoryBuilder()
        gap.snapshot(0, "s1", seq: 10)
        gap.see(1, "s1", "event_deleted", seq: 12)
        #expect(gap.brokenInvariants == [.broadcastOrder], "a deletion that skips a seq")
        var disagree = deleted()
        disagree.snapshot(0, "s2", seq: 10)
        disagree.see(1, "s2", "seat_locked", seq: 11, seat: "A1", user: "u1")
        disagree.see(2, "s2", "seat_released", seq: 12, seat: "A1", reason: "released")
        #expect(
            disagree.messages.contains {
                $0.hasPrefix("broadcast-order: s2: seq 12 is 'seat_released A1") && $0.hasSuffix("but 'event_deleted   ' elsewhere")
            },
            "seq 12 is the deletion for one subscriber and a release for another: \(disagree.messages)")
    }

    @Test("idempotent-checkout, durable-ack and capacity")
    func bookingsAndCapacity() {
        var retry = Self.goodRace()
        retry.checkout("u1", ["A1"], booking: "b1-again", invoke: 9, end: 10, key: "k1")
        #expect(retry.brokenInvariants.contains(.idempotentCheckout))

        var lost = HistoryBuilder()
        lost.hold("u1", ["A1"], id: "h1", invoke: 0, ok: 1, expires: 5_000)
        lost.checkout("u1", ["A1"], booking: "b1", invoke: 2, end: 3)
        lost.finalBookings(10_000, [])
        #expect(lost.brokenInvariants == [.durableAck])

        var hoarder = HistoryBuilder()
        hoarder.add(0, "harness", .observe, "config", ["held_seats_max": 2])
        hoarder.hold("u1", ["A1", "A2"], id: "h1", invoke: 1, ok: 2, expires: 9_000)
        hoarder.hold("u1", ["A3"], id: "h2", invoke: 3, ok: 4, expires: 9_000)
        #expect(hoarder.brokenInvariants == [.capacity])

        var oversold = HistoryBuilder()
        oversold.add(0, "harness", .observe, "config", ["seats_per_event": .object(["e": 1])])
        oversold.finalBookings(1, [("b1", "u1", ["A1"]), ("b2", "u2", ["A2"])])
        #expect(oversold.brokenInvariants == [.capacity])
    }

    @Test("histories round-trip through JSON Lines; a bad line is named")
    func reading() throws {
        let history = Self.goodRace().records
        let text = history.map(HistoryReader.encode).joined(separator: "\n") + "\n"
        #expect(try HistoryReader.parse(text) == history)
        #expect(throws: HistoryReadError(line: 2, problem: "missing field 'process'")) {
            try HistoryReader.parse(
                #"{"index":0,"time_ns":1,"process":"u1","type":"invoke","f":"hold"}"# + "\n" + #"{"index":1,"time_ns":2,"type":"ok","f":"hold"}"#)
        }
        #expect(throws: HistoryReadError(line: 2, problem: "time_ns goes backwards")) {
            try HistoryReader.parse(
                #"{"index":0,"time_ns":5,"process":"u1","type":"invoke","f":"hold"}"# + "\n"
                    + #"{"index":1,"time_ns":2,"process":"u1","type":"ok","f":"hold"}"#)
        }
    }
}
