import PulseEngine
import PulseProtocol
import Testing

private let alice = EngineFixture.alice

extension EngineBehaviour {
    /// The hold path's event cache never acts on a stale record.
    static let caches: [EngineBehaviour] = [
        EngineBehaviour("an event closed, reopened or deleted through another instance is held on its current state at once") { stores in
            let f = try await EngineFixture.make(stores)
            defer { f.world.stop() }
            let other = try f.otherInstance()
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice)

            _ = try await other.updateEvent(f.eventID, UpdateEventRequest(isActive: false))
            #expect(
                await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice) }?.code == .eventInactive
            )
            #expect(try await f.engine.seatMap(f.eventID).seats.filter { $0.status == .locked }.map(\.id) == ["A1"])

            _ = try await other.updateEvent(f.eventID, UpdateEventRequest(isActive: true))
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice)

            try await other.deleteEvent(f.eventID)
            #expect(
                await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A3"], userID: EngineFixture.alice) }?.code == .eventNotFound
            )
            #expect(try await f.hot.snapshot(eventID: f.eventID, nowMs: f.clock.nowMs()).lockedBy.isEmpty)
        },
        EngineBehaviour("a hold with a stale stamp is refused inside the hot step and holds nothing; a rebuilt hot state has a new stamp") { stores in
            let f = try await EngineFixture.make(stores)
            defer { f.world.stop() }
            let before = try await f.hot.eventStamp(eventID: f.eventID)
            try await f.hot.touchEvent(eventID: f.eventID)
            let after = try await f.hot.eventStamp(eventID: f.eventID)
            #expect(after != before)
            let stale = try await f.hot.hold(
                eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice, holdID: "h1", nowMs: f.clock.nowMs(),
                ttlMs: 1000, heldSeatsPerUserMax: 10, eventStamp: before)
            #expect(stale == .staleEvent(stamp: after))
            #expect(try await f.hot.snapshot(eventID: f.eventID, nowMs: f.clock.nowMs()).lockedBy.isEmpty)
            let current = try await f.hot.hold(
                eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice, holdID: "h2", nowMs: f.clock.nowMs(),
                ttlMs: 1000, heldSeatsPerUserMax: 10, eventStamp: after)
            guard case .granted = current else {
                Issue.record("a current stamp was refused: \(current)")
                return
            }

            let rebuilt = try await f.freshHot(knowsBookedSeats: true)
            let rebuiltStamp = try await rebuilt.eventStamp(eventID: f.eventID)
            #expect(rebuiltStamp != before && rebuiltStamp != after)
        },
        EngineBehaviour("a cached event lapses within its maximum age when the change's touch never happened") { stores in
            let f = try await EngineFixture.make(stores)
            defer { f.world.stop() }
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice)
            var closed = try #require(try await f.durable.event(id: f.eventID))
            closed.isActive = false
            try await f.durable.updateEvent(closed)  // as if the hot store went down before the touch
            f.clock.advance(byMs: 1_001)  // the promised bound: a second (not EventCache.maxAgeMs, which a defect could raise)
            #expect(
                await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice) }?.code == .eventInactive
            )
        },
        EngineBehaviour("a cached event closes for holds and checkouts the moment its date comes (PB-EVENT-8)") { stores in
            let f = try await EngineFixture.make(stores)
            defer { f.world.stop() }
            let starts = try #require(ISOTime.parse("2027-01-01"))
            f.clock.set(toMs: starts - 1)
            _ = try await f.engine.hold(eventID: f.eventID, seatIDs: ["A1"], userID: EngineFixture.alice)  // cached now
            f.clock.set(toMs: starts)
            #expect(
                await pulseError { try await f.engine.hold(eventID: f.eventID, seatIDs: ["A2"], userID: EngineFixture.alice) }?.code == .eventInactive
            )
            #expect(await pulseError { try await f.checkout(["A1"], user: EngineFixture.alice) }?.code == .eventInactive)
            #expect(try await f.engine.seatMap(f.eventID).seats.first { $0.id == "A1" }?.status == .locked)
        },
    ]
}
