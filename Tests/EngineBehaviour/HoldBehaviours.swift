import PulseEngine
import PulseProtocol
import Testing

private let alice = EngineFixture.alice
private let bob = EngineFixture.bob

extension EngineBehaviour {
    /// Holds: grants, validation, caps, release, expiry, extension, seqs.
    static let holds: [EngineBehaviour] = [
        EngineBehaviour("a hold covers every requested seat with a fresh token, a TTL and a fence") { stores in
            let f = try await EngineFixture.make(stores)
            let now = f.clock.nowMs()
            let hold = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2"], userID: alice)
            #expect(hold.seatIDs == ["A1", "A2"])
            #expect(hold.expiresAtMs == now + 60_000)
            #expect(hold.id.count == 32)
            let second = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A3"], userID: alice)
            #expect(second.id != hold.id)
            #expect(second.fence > hold.fence, "fences grow with every grant")
        },
        EngineBehaviour(
            "deleting an event drops its holds and logs event_deleted at the next seq, its last change: no hold, booking or second deletion adds one"
        ) { stores in
            let f = try await EngineFixture.make(stores)
            let hold = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2"], userID: alice)
            let now = f.clock.nowMs()
            guard
                case .begun = try await f.hot.beginCheckout(
                    eventID: f.eventID, seatIDs: ["A1"], userID: alice, holdID: hold.id, checkoutID: "c1",
                    nowMs: now, leaseMs: 10_000)
            else { throw TestFailure("checkout not begun") }
            try await f.engine.deleteEvent(f.eventID)
            let s = f.startSeq
            let expected: [SeatChange] = [
                .seatLocked(eventId: f.eventID, seatId: "A1", lockedBy: alice, seq: s + 1),
                .seatLocked(eventId: f.eventID, seatId: "A2", lockedBy: alice, seq: s + 2),
                .eventDeleted(eventId: f.eventID, seq: s + 3),
            ]
            #expect(try await f.log() == expected)
            // The checkout begun before the deletion commits after it: booked, but no change after the last.
            try await f.hot.finishCheckout(eventID: f.eventID, checkoutID: "c1", seatIDs: ["A1"], nowMs: now)
            try await f.hot.dropEvent(eventID: f.eventID)
            let late = try await f.hot.hold(
                eventID: f.eventID, seatIDs: ["B1"], userID: bob, holdID: "late", nowMs: now, ttlMs: 1_000, heldSeatsPerUserMax: 10)
            #expect({ if case .staleEvent = late { true } else { false } }(), "a hold that read the event before the deletion: \(late)")
            #expect(try await f.log() == expected)
            #expect(try await f.hot.holds(eventID: f.eventID, userID: alice, nowMs: now).isEmpty)
            let gone = await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["B2"], userID: bob) }
            #expect(gone?.code == .eventNotFound)
        },
        EngineBehaviour("a hold is all or nothing: one taken seat refuses the whole request and names it") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: bob)
            let error = await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2", "A3"], userID: alice) }
            #expect(error?.status == 409)
            #expect(error?.code == .seatUnavailable)
            #expect(error?.seatIds == ["A2"])
            let map = try await f.engine.seatMap(f.eventID)
            #expect(map.seats.filter { $0.status == .locked }.map(\.id) == ["A2"], "nothing of the refused request was held")
        },
        EngineBehaviour("seat ids are validated: empty, repeated, unknown and too many are refused") { stores in
            let f = try await EngineFixture.make(stores) { $0.seatsPerHoldMax = 3 }
            #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: [], userID: alice) }?.code == .validationFailed)
            #expect(
                await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A1"], userID: alice) }?.code == .validationFailed)
            let unknown = await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["Z9", "A0", "A01"], userID: alice) }
            #expect(unknown?.code == .seatNotFound)
            #expect(unknown?.seatIds == ["Z9", "A0", "A01"])
            #expect(
                await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2", "A3", "A4"], userID: alice) }?.code
                    == .validationFailed)
            #expect(await pulseError { try await f.engine.hold(eventID: "nope", seatIDs: ["A1"], userID: alice) }?.code == .invalidID)
            #expect(
                await pulseError { try await f.engine.hold(eventID: String(repeating: "0", count: 24), seatIDs: ["A1"], userID: alice) }?.code
                    == .eventNotFound)
        },
        EngineBehaviour("a user cannot hold more seats of one event than the cap") { stores in
            let f = try await EngineFixture.make(stores) {
                $0.heldSeatsPerUserMax = 3
                $0.seatsPerHoldMax = 3
            }
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2"], userID: alice)
            let error = await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A3", "A4"], userID: alice) }
            #expect(error?.code == .holdLimitExceeded)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A3"], userID: alice)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A4", "A5"], userID: bob)
        },
        EngineBehaviour("only the owner can release a hold; anyone else gets 404 and nothing is released") { stores in
            let f = try await EngineFixture.make(stores)
            let hold = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            let error = await pulseError { try await f.engine.release(eventID: f.eventID, holdID: hold.id, userID: bob) }
            #expect(error?.status == 404)
            #expect(try await f.engine.seatMap(f.eventID).seats[0].status == .locked)
            try await f.engine.release(eventID: f.eventID, holdID: hold.id, userID: alice)
            #expect(try await f.engine.seatMap(f.eventID).seats[0].status == .available)
            #expect(await pulseError { try await f.engine.release(eventID: f.eventID, holdID: hold.id, userID: alice) }?.status == 404)
        },
        EngineBehaviour("a stale release never removes a newer hold on the same seat (seed race 1)") { stores in
            let f = try await EngineFixture.make(stores)
            let old = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            f.clock.advance(byMs: 60_000)
            try await f.engine.sweep()
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            #expect(await pulseError { try await f.engine.release(eventID: f.eventID, holdID: old.id, userID: alice) }?.status == 404)
            let seat = try await f.engine.seatMap(f.eventID).seats[0]
            #expect(seat.status == .locked && seat.lockedBy == bob)
        },
        EngineBehaviour("a hold lapses exactly at its TTL: live one millisecond before, released as expired at it") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2"], userID: alice)
            f.clock.advance(byMs: 59_999)
            #expect(try await f.engine.sweep().expiredSeats == 0)
            #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob) }?.code == .seatUnavailable)
            f.clock.advance(byMs: 1)
            #expect(try await f.engine.sweep().expiredSeats == 2)
            let log = try await f.log()
            #expect(
                log.suffix(2).map(\.self) == [
                    .seatReleased(eventId: f.eventID, seatId: "A1", reason: .expired, seq: log[0].seq + 2),
                    .seatReleased(eventId: f.eventID, seatId: "A2", reason: .expired, seq: log[0].seq + 3),
                ])
        },
        EngineBehaviour("a lapsed hold is expired (and broadcast) in the same step that lets another user take the seat") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            f.clock.advance(byMs: 61_000)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            let kinds = try await f.log().map { change -> String in
                switch change {
                case .seatLocked(_, let seat, let by, _): "locked \(seat) \(by == bob ? "bob" : "alice")"
                case .seatReleased(_, let seat, let reason, _): "released \(seat) \(reason)"
                case .seatsBooked: "booked"
                case .seatsReleased: "freed"
                case .eventDeleted: "deleted"
                }
            }
            #expect(kinds == ["locked A1 alice", "released A1 expired", "locked A1 bob"])
        },
        EngineBehaviour("extension moves the expiry but never past the lifetime cap, and not for others or lapsed holds") { stores in
            let f = try await EngineFixture.make(stores) { $0.holdLifetimeSecondsMax = 100 }
            let hold = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            f.clock.advance(byMs: 50_000)
            let extended = try await f.engine.extend(eventID: f.eventID, holdID: hold.id, userID: alice, seconds: nil)
            #expect(extended.expiresAtMs == hold.createdAtMs + 100_000, "capped at createdAt + lifetime")
            #expect(await pulseError { try await f.engine.extend(eventID: f.eventID, holdID: hold.id, userID: bob, seconds: 10) }?.status == 404)
            #expect(
                await pulseError { try await f.engine.extend(eventID: f.eventID, holdID: hold.id, userID: alice, seconds: 61) }?.code
                    == .validationFailed)
            f.clock.advance(byMs: 50_000)
            try await f.engine.sweep()
            let lapsed = await pulseError { try await f.engine.extend(eventID: f.eventID, holdID: hold.id, userID: alice, seconds: 10) }
            #expect(lapsed?.status == 410)
            #expect(lapsed?.code == .holdExpired)
        },
        EngineBehaviour("every change gets the event's next seq: contiguous, starting above the generation base") { stores in
            let f = try await EngineFixture.make(stores)
            let h1 = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2"], userID: alice)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["B1"], userID: bob)
            try await f.engine.release(eventID: f.eventID, holdID: h1.id, userID: alice)
            _ = try await f.checkout(["B1"], user: bob)
            let seqs = try await f.log().map(\.seq)
            #expect(seqs == Array(seqs[0]..<seqs[0] + 6))
            #expect(seqs[0] == f.startSeq + 1)
            #expect(f.startSeq > 0 && f.startSeq % (1 << 32) == 0, "seqs start above a generation base")
            #expect(try await f.engine.seatMap(f.eventID).seq == seqs.last)
        },
    ]
}
