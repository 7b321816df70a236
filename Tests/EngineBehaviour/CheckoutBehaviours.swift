import PulseEngine
import PulseProtocol
import Synchronization
import Testing

private let alice = EngineFixture.alice
private let bob = EngineFixture.bob

extension EngineBehaviour {
    /// Checkout, fencing and idempotency.
    static let checkouts: [EngineBehaviour] = [
        EngineBehaviour("checkout books held seats at the server's price and broadcasts seats_booked") { stores in
            let f = try await EngineFixture.make(stores, price: 12.5)
            let hold = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1", "A2"], userID: alice)
            let result = try await f.checkout(["A1", "A2"], user: alice, holdID: hold.id, amount: 25)
            #expect(result.booking.totalCents == 2500)
            #expect(result.booking.seatIDs == ["A1", "A2"])
            #expect(!result.replayed)
            guard case .seatsBooked(_, let seats, _) = try await f.log().last else { throw TestFailure("no seats_booked") }
            #expect(seats == ["A1", "A2"])
            #expect(try await f.engine.seatMap(f.eventID).seats.prefix(2).allSatisfy { $0.status == .booked })
            #expect(try await f.engine.holds(eventID: f.eventID, userID: alice).isEmpty, "the booked seats left the hold")
            #expect(try await f.engine.bookings(userID: alice).map(\.id) == [result.booking.id])
        },
        EngineBehaviour("a totalAmount that disagrees with the server's price is refused with the expected amount") { stores in
            let f = try await EngineFixture.make(stores, price: 12.5)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            let error = await pulseError { try await f.checkout(["A1"], user: alice, amount: 1) }
            #expect(error?.status == 422)
            #expect(error?.code == .amountMismatch)
            #expect(error?.expectedAmount == 12.5)
            #expect(try await f.engine.bookings(userID: alice).isEmpty)
        },
        EngineBehaviour("checkout without a live hold of the caller is refused: none, another user's, or an expired one") { stores in
            let f = try await EngineFixture.make(stores)
            #expect(await pulseError { try await f.checkout(["A1"], user: alice) }?.code == .holdRequired)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            #expect(await pulseError { try await f.checkout(["A1"], user: alice) }?.code == .holdRequired)
            let mine = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: alice)
            f.clock.advance(byMs: 60_000)
            let expired = await pulseError { try await f.checkout(["A2"], user: alice, holdID: mine.id) }
            #expect(expired?.status == 410)
            #expect(expired?.code == .holdExpired)
            #expect(try await f.engine.bookings(userID: alice).isEmpty)
        },
        /// Found by the conformance suite on a loaded machine (race.same-key): a retry that found no
        /// booking for its key, then found the holds gone because the first try had just booked them,
        /// was answered 409 hold_required.
        EngineBehaviour("a retry whose first try books between its key check and its freeze gets that booking, not hold_required") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            let gated = FirstBeginWaits(f.hot)
            let secondInstance = BookingEngine(
                configuration: EngineConfiguration(holdTTLSeconds: 60), hot: gated, durable: f.durable, clock: f.clock,
                ids: SeededIdentifierSource(seed: 99))
            async let retry = secondInstance.checkout(
                eventID: f.eventID, request: CheckoutRequest(seatIds: ["A1"]), idempotencyKey: "overtaken", userID: alice)
            for await _ in gated.arrived { break }  // the retry checked its key (nothing yet) and waits at its freeze
            let first = try await f.checkout(["A1"], user: alice, key: "overtaken")
            gated.proceed.yield()
            let answered = try await retry
            #expect(answered.booking == first.booking && answered.replayed)
            #expect(try await f.engine.bookings(userID: alice).count == 1)
        },
        EngineBehaviour("the same Idempotency-Key returns the same booking and books nothing twice") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            let first = try await f.checkout(["A1"], user: alice, key: "retry-1")
            let again = try await f.checkout(["A1"], user: alice, key: "retry-1")
            #expect(again.booking == first.booking)
            #expect(again.replayed)
            #expect(try await f.engine.bookings(userID: alice).count == 1)
            let reused = await pulseError { try await f.checkout(["A2"], user: alice, key: "retry-1") }
            #expect(reused?.code == .idempotencyKeyReused)
            #expect(
                await pulseError { try await f.checkout(["A2"], user: alice, key: String(repeating: "k", count: 129)) }?.code == .validationFailed)
        },
        EngineBehaviour("the durable store refuses a second booking of a seat even when the hot store forgot the first") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            _ = try await f.checkout(["A1"], user: alice)
            // A fresh hot state that was never warmed up (as after a lost Redis): A1 looks free.
            let amnesiac = try await f.freshHot(knowsBookedSeats: false)
            let engine = BookingEngine(
                configuration: f.engine.configuration, hot: amnesiac, durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 9))
            _ = try await engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            let error = await pulseError {
                try await engine.checkout(eventID: f.eventID, request: CheckoutRequest(seatIds: ["A1"]), idempotencyKey: nil, userID: bob)
            }
            #expect(error?.code == .seatUnavailable)
            #expect(try await f.durable.bookedSeats(eventID: f.eventID).keys.sorted() == ["A1"])
            // After warming up, the fresh hot state knows A1 is sold.
            let warm = BookingEngine(
                configuration: f.engine.configuration, hot: try await f.freshHot(knowsBookedSeats: true),
                durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 10))
            try await warm.warmUp()
            #expect(await pulseError { try await warm.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob) }?.code == .seatUnavailable)
        },
        EngineBehaviour("an event inactive at start-up shows its sold seats, and reopening it never lets a sold seat be held") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            _ = try await f.checkout(["A1"], user: alice)
            _ = try await f.engine.updateEvent(f.eventID, UpdateEventRequest(isActive: false))
            // A restart: the fresh hot state is warmed up with active events only.
            let restarted = BookingEngine(
                configuration: f.engine.configuration, hot: try await f.freshHot(knowsBookedSeats: true),
                durable: f.durable, clock: f.clock, ids: SeededIdentifierSource(seed: 11))
            try await restarted.warmUp()
            let map = try await restarted.seatMap(f.eventID)
            #expect(map.seats.first { $0.id == "A1" }?.status == .booked)
            _ = try await restarted.updateEvent(f.eventID, UpdateEventRequest(isActive: true))
            #expect(await pulseError { try await restarted.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob) }?.code == .seatUnavailable)
            #expect(try await restarted.seatMap(f.eventID).seats.first { $0.id == "A1" }?.status == .booked)
        },
        EngineBehaviour("a checkout paused past its lease is fenced off and never lands over a newer hold") { stores in
            let f = try await EngineFixture.make(stores) { $0.checkoutLeaseSeconds = 5 }
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            // Alice's checkout freezes her hold, then her process pauses before the durable commit.
            guard
                case .begun(let ticket) = try await f.hot.beginCheckout(
                    eventID: f.eventID, seatIDs: ["A1"], userID: alice, holdID: nil,
                    checkoutID: "c0ffee00c0ffee00c0ffee00c0ffee00", nowMs: f.clock.nowMs(), leaseMs: 5000)
            else { throw TestFailure("checkout did not begin") }
            // Before the lease runs out, nobody else can take the seat, even after the hold's TTL.
            f.clock.advance(byMs: 4_000)
            try await f.engine.sweep()
            #expect(await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob) }?.code == .seatUnavailable)
            // The lease runs out: the sweeper fences the checkout off and releases the hold.
            f.clock.advance(byMs: 61_000)
            let report = try await f.engine.sweep()
            #expect(report.lapsedCheckoutsFencedOff == 1)
            let newer = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            #expect(newer.fence > ticket.fences["A1"]!)
            // Alice's process wakes up and tries to commit with her old fence: refused by the durable store.
            let late = NewBooking(
                id: ticket.checkoutID, eventID: f.eventID, userID: alice, seatIDs: ["A1"], fences: ticket.fences,
                totalCents: 1250, idempotencyKey: nil, createdAtMs: f.clock.nowMs())
            #expect(try await f.durable.commitBooking(late) == .fencedOff(["A1"]))
            // Bob's newer hold is intact and he can book.
            _ = try await f.checkout(["A1"], user: bob, holdID: newer.id)
            #expect(try await f.engine.bookings(userID: alice).isEmpty)
        },
        EngineBehaviour("a checkout whose commit landed but whose process died is finished by the sweeper") { stores in
            let f = try await EngineFixture.make(stores) { $0.checkoutLeaseSeconds = 5 }
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            guard
                case .begun(let ticket) = try await f.hot.beginCheckout(
                    eventID: f.eventID, seatIDs: ["A1"], userID: alice, holdID: nil,
                    checkoutID: "feed0000feed0000feed0000feed0000", nowMs: f.clock.nowMs(), leaseMs: 5000)
            else { throw TestFailure("checkout did not begin") }
            let booking = NewBooking(
                id: ticket.checkoutID, eventID: f.eventID, userID: alice, seatIDs: ["A1"], fences: ticket.fences,
                totalCents: 1250, idempotencyKey: nil, createdAtMs: f.clock.nowMs())
            guard case .committed = try await f.durable.commitBooking(booking) else { throw TestFailure("commit failed") }
            f.clock.advance(byMs: 6_000)
            #expect(try await f.engine.sweep().lapsedCheckoutsBooked == 1)
            #expect(try await f.engine.seatMap(f.eventID).seats[0].status == .booked)
        },
        EngineBehaviour("a hold being checked out can be neither released nor extended") { stores in
            let f = try await EngineFixture.make(stores)
            let hold = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            _ = try await f.hot.beginCheckout(
                eventID: f.eventID, seatIDs: ["A1"], userID: alice, holdID: hold.id,
                checkoutID: "0123456789abcdef0123456789abcdef", nowMs: f.clock.nowMs(), leaseMs: 5000)
            #expect(await pulseError { try await f.engine.release(eventID: f.eventID, holdID: hold.id, userID: alice) }?.code == .checkoutInProgress)
            #expect(
                await pulseError { try await f.engine.extend(eventID: f.eventID, holdID: hold.id, userID: alice, seconds: 5) }?.code
                    == .checkoutInProgress)
            #expect(await pulseError { try await f.checkout(["A1"], user: alice) }?.code == .checkoutInProgress)
        },
        EngineBehaviour("many concurrent checkouts of one held seat book it exactly once") { stores in
            let f = try await EngineFixture.make(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            let results = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<20 {
                    group.addTask { (try? await f.checkout(["A1"], user: alice)) != nil }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
            #expect(try await f.durable.bookedSeats(eventID: f.eventID).keys.sorted() == ["A1"])
        },
    ]
}

/// A hot store whose first `beginCheckout` waits (after saying so on `arrived`) until `proceed`
/// is signalled; later calls go straight through.
final class FirstBeginWaits: HotStoreDecorator {
    let inner: any HotStore
    let arrived: AsyncStream<Void>
    private let arrival: AsyncStream<Void>.Continuation
    private let proceedSignals: AsyncStream<Void>
    let proceed: AsyncStream<Void>.Continuation
    private let calls = Mutex(0)

    init(_ inner: any HotStore) {
        self.inner = inner
        (arrived, arrival) = AsyncStream.makeStream()
        (proceedSignals, proceed) = AsyncStream.makeStream()
    }

    func beginCheckout(
        eventID: String, seatIDs: [String], userID: String, holdID: String?, checkoutID: String, nowMs: Int64,
        leaseMs: Int64
    ) async throws -> BeginCheckoutOutcome {
        if calls.withLock({
            $0 += 1
            return $0
        }) == 1 {
            arrival.yield()
            for await _ in proceedSignals { break }
        }
        return try await inner.beginCheckout(
            eventID: eventID, seatIDs: seatIDs, userID: userID, holdID: holdID, checkoutID: checkoutID,
            nowMs: nowMs, leaseMs: leaseMs)
    }
}
