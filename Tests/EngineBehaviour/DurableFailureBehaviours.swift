import PulseEngine
import PulseProtocol
import Testing

private let alice = EngineFixture.alice
private let bob = EngineFixture.bob

extension EngineBehaviour {
    /// Durable store failures during checkout (PB-CHECKOUT-5, PB-CHECKOUT-7, PB-ERR-4).
    static let durableFailures: [EngineBehaviour] = [
        EngineBehaviour("a commit that never happened answers 503 with outcome unknown; the sweeper releases the frozen hold after the lease") {
            stores in
            let f = try await Faulty(stores)
            let hold = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            f.store.commitFault = .failBefore
            let error = await pulseError { try await f.checkout(alice, key: "order-1") }
            #expect(error?.status == 503)
            #expect(error?.code == .storeUnavailable)
            #expect(error?.outcomeUnknown == true)
            #expect(error?.retryAfterSeconds == 1)
            #expect(
                await pulseError { try await f.engine.release(eventID: f.eventID, holdID: hold.id, userID: alice) }?.code == .checkoutInProgress,
                "the hold stays frozen while the outcome is unknown")
            f.store.commitFault = .none
            f.clock.advance(byMs: 6_000)
            #expect(try await f.engine.sweep().lapsedCheckoutsFencedOff == 1)
            #expect(try await f.statusOfA1().status == .available)
            guard case .seatReleased(_, "A1", .expired, _)? = try await f.lastChange() else { throw TestFailure("no expiry broadcast") }
            #expect(try await f.engine.bookings(userID: alice).isEmpty)
        },
        EngineBehaviour("a commit whose answer was lost is replayed by a retry with the same key and finished by the sweeper") { stores in
            let f = try await Faulty(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            f.store.commitFault = .failAfter
            #expect(await pulseError { try await f.checkout(alice, key: "order-2") }?.outcomeUnknown == true)
            f.store.commitFault = .none
            let retry = try await f.checkout(alice, key: "order-2")
            #expect(retry.replayed)
            #expect(try await f.engine.bookings(userID: alice).map(\.id) == [retry.booking.id])
            f.clock.advance(byMs: 6_000)
            #expect(try await f.engine.sweep().lapsedCheckoutsBooked == 1)
            #expect(try await f.statusOfA1().status == .booked)
            guard case .seatsBooked(_, ["A1"], _)? = try await f.lastChange() else { throw TestFailure("no seats_booked broadcast") }
        },
        EngineBehaviour("a checkout paused past its lease gets 409 hold_superseded and never lands over the newer hold") { stores in
            let f = try await Faulty(stores)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: alice)
            f.store.commitFault = .pause
            async let paused = pulseError { try await f.checkout(alice) }
            while !f.store.hasPausedCommit { try await Task.sleep(for: .milliseconds(1)) }
            f.clock.advance(byMs: 6_000)
            #expect(try await f.engine.sweep().lapsedCheckoutsFencedOff == 1)
            let newer = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: bob)
            f.store.resumePausedCommit()
            let error = await paused
            #expect(error?.status == 409)
            #expect(error?.code == .holdSuperseded)
            #expect(try await f.engine.bookings(userID: alice).isEmpty)
            let seat = try await f.statusOfA1()
            #expect(seat.status == .locked && seat.lockedBy == bob, "Bob's newer hold stands")
            #expect(try await f.engine.holds(eventID: f.eventID, userID: bob).map(\.id) == [newer.id])
        },
    ]
}

/// An engine whose durable store fails on command (see ``FaultyDurableStore``), its lease 5 s.
private struct Faulty {
    let engine: BookingEngine
    let clock: ManualClock
    let store: FaultyDurableStore
    let hot: any HotStore
    let eventID: String
    let startSeq: Int64

    let fixture: EngineFixture

    init(_ stores: Stores) async throws {
        let f = try await EngineFixture.make(stores) { $0.checkoutLeaseSeconds = 5 }
        fixture = f
        store = FaultyDurableStore(f.durable)
        hot = f.hot
        clock = f.clock
        eventID = f.eventID
        engine = BookingEngine(
            configuration: f.engine.configuration, hot: f.hot, durable: store, clock: f.clock, ids: SeededIdentifierSource(seed: 21))
        startSeq = try await engine.seatMap(eventID).seq
    }

    func checkout(_ user: String, key: String? = nil) async throws -> CheckoutResult {
        try await engine.checkout(eventID: eventID, request: CheckoutRequest(seatIds: ["A1"]), idempotencyKey: key, userID: user)
    }

    func statusOfA1() async throws -> SeatResource { try await engine.seatMap(eventID).seats[0] }

    func lastChange() async throws -> SeatChange? {
        guard case .changes(let changes) = try await hot.changes(eventID: eventID, afterSeq: startSeq) else { return nil }
        return changes.last
    }
}
