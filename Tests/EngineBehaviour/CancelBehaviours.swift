import PulseEngine
import PulseProtocol
import Synchronization
import Testing

private let alice = EngineFixture.alice
private let bob = EngineFixture.bob

extension EngineBehaviour {
    /// Cancellation (PB-CHECKOUT-8...11).
    static let cancellations: [EngineBehaviour] = [
        EngineBehaviour("a cancel frees the seats with one seats_released at the next seq; someone else books them at once") { stores in
            let f = try await EngineFixture.make(stores)
            let booking = try await book(f, ["A1", "A2"])
            #expect(try await f.engine.event(f.eventID).availableSeats == 8)
            let before = try await f.log()
            f.clock.advance(byMs: 1_000)
            let cancelled = try await f.engine.cancelBooking(booking.id, reason: "ill", userID: alice, isAdmin: false)
            #expect(
                cancelled.id == booking.id && cancelled.isCancelled && cancelled.seatIDs == ["A1", "A2"] && cancelled.cancellationReason == "ill")
            #expect(cancelled.cancelledAtMs == f.clock.nowMs())
            let after = try await f.log()
            #expect(after.count == before.count + 1)
            #expect(after.last == .seatsReleased(eventId: f.eventID, seatIds: ["A1", "A2"], reason: .cancelled, seq: before.last!.seq + 1))
            let map = try await f.engine.seatMap(f.eventID)
            #expect(map.seq == before.last!.seq + 1 && map.seats.prefix(2).allSatisfy { $0.status == .available })
            #expect(try await f.engine.event(f.eventID).availableSeats == 10)
            #expect(try await f.engine.bookings(userID: alice).map(\.status) == ["cancelled"], "the cancelled booking stays listed")
            let resale = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            #expect(try await f.checkout(["A1"], user: bob, holdID: resale.id).booking.seatIDs == ["A1"])
            #expect(try await f.durable.bookedSeats(eventID: f.eventID).keys.sorted() == ["A1"])
        },
        EngineBehaviour("a second cancel changes and broadcasts nothing, also after the seats were sold again") { stores in
            let f = try await EngineFixture.make(stores)
            let booking = try await book(f, ["A1"])
            let first = try await f.engine.cancelBooking(booking.id, reason: "first", userID: alice, isAdmin: false)
            let logged = try await f.log()
            f.clock.advance(byMs: 5_000)
            #expect(try await f.engine.cancelBooking(booking.id, reason: "second", userID: alice, isAdmin: false) == first)
            #expect(try await f.log() == logged, "nothing broadcast for a second cancel")
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            _ = try await f.checkout(["A1"], user: bob)
            let resold = try await f.log()
            #expect(try await f.engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: true) == first)
            #expect(try await f.log() == resold, "a late cancel of the old booking must not free the new buyer's seat")
            #expect(try await f.engine.seatMap(f.eventID).seats[0].status == .booked)
            #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice) }?.code == .seatUnavailable)
        },
        EngineBehaviour("only the owner or an admin cancels; bad ids and reasons are 400s", on: [.memory]) { stores in
            let f = try await EngineFixture.make(stores)
            let booking = try await book(f, ["A1"])
            #expect(
                await pulseError { try await f.engine.cancelBooking(booking.id, reason: nil, userID: bob, isAdmin: false) }?.code == .bookingNotFound)
            #expect(
                await pulseError { try await f.engine.cancelBooking("ffffffffffffffffffffffff", reason: nil, userID: alice, isAdmin: true) }?.code
                    == .bookingNotFound)
            #expect(await pulseError { try await f.engine.cancelBooking("nope", reason: nil, userID: alice, isAdmin: false) }?.code == .invalidID)
            let empty = await pulseError { try await f.engine.cancelBooking(booking.id, reason: "", userID: alice, isAdmin: false) }
            #expect(empty?.code == .validationFailed && empty?.field == "reason")
            #expect(
                await pulseError {
                    try await f.engine.cancelBooking(booking.id, reason: String(repeating: "é", count: 501), userID: alice, isAdmin: false)
                }?.code == .validationFailed)
            #expect(try await f.engine.bookings(userID: alice).map(\.status) == ["confirmed"], "no refused cancel cancelled it")
            #expect(try await f.engine.cancelBooking(booking.id, reason: String(repeating: "é", count: 500), userID: bob, isAdmin: true).isCancelled)
        },
        EngineBehaviour("a checkout retried with its Idempotency-Key after the cancel answers the cancelled booking and books nothing") { stores in
            let f = try await EngineFixture.make(stores)
            let booking = try await book(f, ["A1"], key: "k1")
            _ = try await f.engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: false)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            let bobs = try await f.checkout(["A1"], user: bob).booking
            let replay = try await f.checkout(["A1"], user: alice, key: "k1")
            #expect(replay.replayed && replay.booking.id == booking.id && replay.booking.isCancelled)
            #expect(try await f.durable.bookedSeats(eventID: f.eventID) == ["A1": bobs.id])
        },
        EngineBehaviour(
            "when the hot step fails after the durable cancel the answer is 503 (outcome unknown) and a retry frees the seats once",
            on: [.memory, .redis]
        ) { stores in
            let f = try await EngineFixture.make(stores)
            let failing = FailingFreeHotStore(f.hot)
            let engine = BookingEngine(
                configuration: f.engine.configuration, hot: failing, durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 3))
            let booking = try await book(f, ["A1", "A2"])
            let before = try await f.log()
            failing.failing.store(true, ordering: .relaxed)
            let error = await pulseError { try await engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: false) }
            #expect(error?.status == 503 && error?.outcomeUnknown == true)
            #expect(try await engine.seatMap(f.eventID).seats.prefix(2).allSatisfy { $0.status == .booked }, "still sold until the hot step runs")
            #expect(await pulseError { try await engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob) }?.code == .seatUnavailable)
            failing.failing.store(false, ordering: .relaxed)
            #expect(try await engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: false).isCancelled)
            #expect(
                try await f.log() == before + [
                    .seatsReleased(eventId: f.eventID, seatIds: ["A1", "A2"], reason: .cancelled, seq: before.last!.seq + 1)
                ])
            _ = try await engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: false)
            #expect(try await f.log().count == before.count + 1)
        },
        EngineBehaviour("a cancel whose hot step failed and was never retried is finished by the sweeper", on: [.memory, .redis]) { stores in
            let f = try await EngineFixture.make(stores)
            let failing = FailingFreeHotStore(f.hot)
            let engine = BookingEngine(
                configuration: f.engine.configuration, hot: failing, durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 3))
            let booking = try await book(f, ["A1"])
            failing.failing.store(true, ordering: .relaxed)
            #expect(await pulseError { try await engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: false) }?.status == 503)
            #expect(await pulseError { try await engine.sweep() } != nil, "the sweeper cannot finish it while the hot store fails")
            failing.failing.store(false, ordering: .relaxed)
            let before = try await f.log()
            #expect(try await engine.sweep().cancellationsFinished == 1)
            #expect(
                try await f.log() == before + [.seatsReleased(eventId: f.eventID, seatIds: ["A1"], reason: .cancelled, seq: before.last!.seq + 1)])
            #expect(try await engine.sweep().cancellationsFinished == 0, "finished once")
        },
        EngineBehaviour("a cancel whose process died after the durable step is finished by the next start-up's warm-up", on: [.memory, .redis]) {
            stores in
            let f = try await EngineFixture.make(stores)
            let cancelled = try await book(f, ["A1", "A2"])
            let kept = try await book(f, ["B1"])
            guard case .cancelled = try await f.durable.cancelBooking(BookingCancellationRequest(bookingID: cancelled.id, userID: nil, atMs: 0))
            else {
                throw TestFailure("durable cancel")
            }
            let before = try await f.log()
            // A new process on the same hot store (Redis outlived the server that died mid-cancel).
            let restarted = BookingEngine(
                configuration: f.engine.configuration, hot: f.hot, durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 5))
            try await restarted.warmUp()
            #expect(
                try await f.log() == before + [
                    .seatsReleased(eventId: f.eventID, seatIds: ["A1", "A2"], reason: .cancelled, seq: before.last!.seq + 1)
                ])
            #expect(try await f.hot.soldSeats(eventID: f.eventID) == ["B1": kept.id])
            try await restarted.warmUp()
            #expect(try await f.log().count == before.count + 1, "a second warm-up changes nothing")
        },
        EngineBehaviour(
            "a cancel of a booking whose checkout is still frozen in the hot store books it first, then frees it; its late finish books nothing",
            on: [.memory, .redis]
        ) { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            // A checkout frozen in the hot store whose booking is durable, its hot step not yet run.
            guard
                case .begun(let ticket) = try await f.hot.beginCheckout(
                    eventID: f.eventID, seatIDs: ["A1"], userID: alice, holdID: nil,
                    checkoutID: "cccccccccccccccccccccccc", nowMs: f.clock.nowMs(), leaseMs: 30_000)
            else { throw TestFailure("begin") }
            guard
                case .committed = try await f.durable.commitBooking(
                    NewBooking(
                        id: ticket.checkoutID, eventID: f.eventID, userID: alice, seatIDs: ["A1"],
                        fences: ticket.fences, totalCents: 1250, createdAtMs: 0))
            else { throw TestFailure("commit") }
            let before = try await f.log()
            _ = try await f.engine.cancelBooking(ticket.checkoutID, reason: nil, userID: alice, isAdmin: false)
            let after = try await f.log()
            #expect(
                Array(after.dropFirst(before.count)) == [
                    .seatsBooked(eventId: f.eventID, seatIds: ["A1"], seq: before.last!.seq + 1),
                    .seatsReleased(eventId: f.eventID, seatIds: ["A1"], reason: .cancelled, seq: before.last!.seq + 2),
                ])
            // The sweeper listed the lease before the cancel and finishes it now: nothing is booked again.
            try await f.hot.finishCheckout(eventID: f.eventID, checkoutID: ticket.checkoutID, seatIDs: ["A1"], nowMs: f.clock.nowMs())
            #expect(try await f.log() == after)
            #expect(try await f.engine.seatMap(f.eventID).seats[0].status == .available)
        },
        EngineBehaviour("a booking of an inactive event is cancelled and announced, even when the event was never warmed up", on: [.memory, .redis]) {
            stores in
            let f = try await EngineFixture.make(stores)
            let booking = try await book(f, ["A1"])
            _ = try await f.engine.updateEvent(f.eventID, UpdateEventRequest(isActive: false))
            // A server started after the event closed: its hot state never learnt the sold seats.
            let cold = try await f.freshHot(knowsBookedSeats: false)
            let engine = BookingEngine(
                configuration: f.engine.configuration, hot: cold, durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 4))
            let seq = try await engine.seatMap(f.eventID).seq
            _ = try await engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: false)
            guard case .changes(let changes) = try await cold.changes(eventID: f.eventID, afterSeq: seq) else { throw TestFailure("trimmed") }
            #expect(changes == [.seatsReleased(eventId: f.eventID, seatIds: ["A1"], reason: .cancelled, seq: seq + 1)])
        },
        EngineBehaviour(
            "once the event's date has come only an admin cancels a confirmed booking; a cancelled one still answers its owner", on: [.memory]
        ) { stores in
            let f = try await EngineFixture.make(stores)
            let early = try await book(f, ["A1"])
            let late = try await book(f, ["A2"])
            _ = try await f.engine.cancelBooking(early.id, reason: nil, userID: alice, isAdmin: false)
            _ = try await f.engine.updateEvent(f.eventID, UpdateEventRequest(date: "2001-01-01T20:00:00Z"))
            let refused = await pulseError { try await f.engine.cancelBooking(late.id, reason: nil, userID: alice, isAdmin: false) }
            #expect(refused?.status == 409 && refused?.code == .cancellationClosed)
            #expect(
                try await f.engine.bookings(userID: alice).first { $0.id == late.id }?.status == "confirmed", "the refused cancel changed nothing")
            #expect(
                try await f.engine.cancelBooking(early.id, reason: nil, userID: alice, isAdmin: false).isCancelled,
                "a cancelled booking is answered as it is")
            #expect(try await f.engine.cancelBooking(late.id, reason: "refund", userID: bob, isAdmin: true).isCancelled, "the organiser may refund")
        },
        EngineBehaviour("a booking of a deleted event is cancelled, and nothing follows the event's event_deleted", on: [.memory]) { stores in
            let f = try await EngineFixture.make(stores)
            let booking = try await book(f, ["A1"])
            try await f.engine.deleteEvent(f.eventID)
            let logged = try await f.log()
            #expect(try await f.engine.cancelBooking(booking.id, reason: nil, userID: alice, isAdmin: false).isCancelled)
            #expect(try await f.log() == logged)
            #expect(try await f.engine.bookings(userID: alice).map(\.status) == ["cancelled"])
        },
    ]
}

/// Alice holds and books `seats`.
private func book(_ f: EngineFixture, _ seats: [String], key: String? = nil) async throws -> BookingRecord {
    _ = try await f.engine.hold(eventID: f.eventID, seatIDs: seats, userID: alice)
    return try await f.checkout(seats, user: alice, key: key).booking
}

/// A hot store whose `freeBooked` fails while told to (a Redis that stops answering right after
/// the durable cancel committed).
final class FailingFreeHotStore: HotStoreDecorator {
    let inner: any HotStore
    let failing = Atomic<Bool>(false)
    init(_ inner: any HotStore) { self.inner = inner }

    func freeBooked(eventID: String, bookingID: String, seatIDs: [String], nowMs: Int64) async throws -> [String] {
        if failing.load(ordering: .relaxed) { throw HotStoreError.unavailable("injected") }
        return try await inner.freeBooked(eventID: eventID, bookingID: bookingID, seatIDs: seatIDs, nowMs: nowMs)
    }
}
