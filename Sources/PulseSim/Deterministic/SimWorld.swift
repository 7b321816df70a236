import PulseProtocol
import PulseReference
import Synchronization

/// The simulated processes of a run and what they share.
final class SimWorld: Sendable {
    let configuration: SimConfiguration
    let engine: BookingEngine
    let scheduler: SimScheduler
    let recorder: HistoryRecorder
    let eventID: String
    private let usersLeft: Mutex<(count: Int, doneAtMs: Int64?)>

    init(configuration: SimConfiguration, engine: BookingEngine, scheduler: SimScheduler, recorder: HistoryRecorder, eventID: String, usersLeft: Int) {
        self.configuration = configuration
        self.engine = engine
        self.scheduler = scheduler
        self.recorder = recorder
        self.eventID = eventID
        self.usersLeft = Mutex((usersLeft, nil))
    }

    /// Whether the users have finished and the quiesce phase is over.
    var finished: Bool {
        let quiesce = configuration.quiesceMs ?? Int64(3 * configuration.holdTTLSeconds * 1000 + 1000)
        return usersLeft.withLock { state in state.doneAtMs.map { scheduler.clock.nowMs() >= $0 + quiesce } ?? false }
    }

    /// A virtual user: thinks, holds seats (often in the hot first row), then checks out (maybe
    /// retrying with the same key), releases, extends or abandons the hold.
    func user(index: Int, id: String) async {
        let name = "u\(index)"
        var random = SeededRandom(seed: configuration.seed &* 0x100_0000_01B3 &+ UInt64(index) &+ 1)
        for operation in 0..<configuration.operationsPerUser {
            await scheduler.sleep(ms: Int64(random.below(Int(configuration.thinkMsMax) + 1)))
            let seats = pickSeats(&random)
            recorder.record(name, .invoke, "hold", ["event": .string(eventID), "seats": .list(seats)])
            let hold: HoldRecord
            do {
                hold = try await engine.hold(eventID: eventID, seatIDs: seats, userID: id)
                recorder.record(name, .ok, "hold", ["event": .string(eventID), "seats": .list(hold.seatIDs), "hold": .string(hold.id),
                                                    "fence": .int(hold.fence), "expires_at_ns": .int(hold.expiresAtMs * 1_000_000)])
            } catch {
                fail(name, "hold", error)
                continue
            }
            await scheduler.sleep(ms: Int64(random.below(Int(configuration.thinkMsMax) + 1)))
            if random.chance(configuration.extendProbability) {
                recorder.record(name, .invoke, "extend", ["event": .string(eventID), "hold": .string(hold.id)])
                do {
                    let extended = try await engine.extend(eventID: eventID, holdID: hold.id, userID: id, seconds: nil)
                    recorder.record(name, .ok, "extend", ["event": .string(eventID), "hold": .string(hold.id), "expires_at_ns": .int(extended.expiresAtMs * 1_000_000)])
                } catch {
                    fail(name, "extend", error)
                }
            }
            if random.chance(configuration.checkoutProbability) {
                let key = "k-\(index)-\(operation)"
                if configuration.clientCrashProbability > 0, random.chance(configuration.clientCrashProbability) {
                    // The client sends its checkout and dies: the request runs, nobody hears the answer.
                    recorder.record(name, .invoke, "checkout", ["event": .string(eventID), "seats": .list(hold.seatIDs), "key": .string(key)])
                    recorder.record("nemesis", .fault, "client_crash", ["process": .string(name)])
                    _ = try? await engine.checkout(eventID: eventID, request: CheckoutRequest(seatIds: hold.seatIDs), idempotencyKey: key, userID: id)
                    break
                }
                let outcome = await checkout(name, id, seats: hold.seatIDs, key: key)
                // A careful client retries an unknown outcome with the same key; some retry successes too.
                if outcome == .unknown || (outcome == .booked && random.chance(configuration.retryProbability)) {
                    _ = await checkout(name, id, seats: hold.seatIDs, key: key)
                }
            } else if random.chance(configuration.releaseProbability / max(0.000_1, 1 - configuration.checkoutProbability)) {
                if random.chance(configuration.releaseBySeatsShare) {
                    recorder.record(name, .invoke, "release", ["event": .string(eventID), "seats": .list(hold.seatIDs)])
                    do {
                        let released = try await engine.release(eventID: eventID, target: .seats(hold.seatIDs), userID: id, reason: .released)
                        recorder.record(name, .ok, "release", ["event": .string(eventID), "released": .list(released)])
                    } catch {
                        fail(name, "release", error)
                    }
                } else {
                    recorder.record(name, .invoke, "release", ["event": .string(eventID), "hold": .string(hold.id)])
                    do {
                        try await engine.release(eventID: eventID, holdID: hold.id, userID: id)
                        recorder.record(name, .ok, "release", ["event": .string(eventID), "released": .list(hold.seatIDs)])
                    } catch {
                        fail(name, "release", error)
                    }
                }
            }
        }
        usersLeft.withLock { state in
            state.count -= 1
            if state.count == 0 { state.doneAtMs = scheduler.clock.nowMs() }
        }
    }

    private enum CheckoutOutcome { case booked, refused, unknown }

    private func checkout(_ name: String, _ id: String, seats: [String], key: String) async -> CheckoutOutcome {
        recorder.record(name, .invoke, "checkout", ["event": .string(eventID), "seats": .list(seats), "key": .string(key)])
        do {
            let result = try await engine.checkout(eventID: eventID, request: CheckoutRequest(seatIds: seats), idempotencyKey: key, userID: id)
            recorder.record(name, .ok, "checkout", ["event": .string(eventID), "seats": .list(result.booking.seatIDs), "booking": .string(result.booking.id)])
            return .booked
        } catch {
            fail(name, "checkout", error)
            return ((error as? PulseError)?.status ?? 500) >= 500 ? .unknown : .refused
        }
    }

    private func fail(_ name: String, _ f: String, _ error: any Error) {
        let pulse = error as? PulseError
        // A 5xx may or may not have taken effect: `info`, never `fail`.
        recorder.record(name, (pulse?.status ?? 500) >= 500 ? .info : .fail, f, ["event": .string(eventID)], error: pulse?.code.rawValue ?? "\(error)")
    }

    private func pickSeats(_ random: inout SeededRandom) -> [String] {
        var seats: [String] = []
        for _ in 0..<(1 + random.below(configuration.seatsPerHoldMax)) {
            let row = random.chance(configuration.hotSpotShare) ? 0 : random.below(configuration.rows)
            let seat = SeatGrid.label(row: row, col: 1 + random.below(configuration.cols))
            if !seats.contains(seat) { seats.append(seat) }
        }
        return seats
    }

    /// A subscriber: a snapshot, then every change in order, polled on virtual time; a fresh
    /// snapshot when it fell out of the log, and a last one at the end of the run.
    func subscriber() async {
        let name = SimScheduler.currentProcess ?? "s"
        var cursor = await snapshot(name)
        while !finished {
            await scheduler.sleep(ms: configuration.subscriberPollMs)
            var rejoining = false
            if configuration.subscriberDropProbability > 0, scheduler.chance(configuration.subscriberDropProbability) {
                recorder.record("nemesis", .fault, "disconnect", ["process": .string(name), "ms": .int(configuration.subscriberDropMs)])
                await scheduler.sleep(ms: configuration.subscriberDropMs)
                rejoining = true
            }
            guard let cursorNow = cursor else { cursor = await snapshot(name); continue }
            switch try? await engine.changes(eventID: eventID, afterSeq: cursorNow) {
            case .changes(let changes)?:
                for change in changes { observe(name, change) }
                cursor = changes.last?.seq ?? cursorNow
                if rejoining { recorder.record(name, .observe, "joined", ["event": .string(eventID), "seq": .int(cursor ?? cursorNow)]) }
            case .trimmed?:
                cursor = await snapshot(name)
            case nil:
                continue
            }
        }
        // The final read: what this subscriber would show once everything settled.
        _ = await snapshot(name)
    }

    private func snapshot(_ name: String) async -> Int64? {
        guard let map = try? await engine.seatMap(eventID) else { return nil }
        var locked: [String: HistoryValue] = [:]
        for seat in map.seats where seat.status == .locked { locked[seat.id] = .string(userName(seat.lockedBy ?? "")) }
        recorder.record(name, .observe, "snapshot", ["event": .string(eventID), "seq": .int(map.seq),
                                                      "booked": .list(map.seats.filter { $0.status == .booked }.map(\.id)), "locked": .object(locked)])
        return map.seq
    }

    private func observe(_ name: String, _ change: SeatChange) {
        switch change {
        case .seatLocked(_, let seat, let user, let seq):
            recorder.record(name, .observe, "seat_locked", ["event": .string(eventID), "seq": .int(seq), "seat": .string(seat), "user": .string(userName(user))])
        case .seatReleased(_, let seat, let reason, let seq):
            recorder.record(name, .observe, "seat_released", ["event": .string(eventID), "seq": .int(seq), "seat": .string(seat), "reason": .string(reason.rawValue)])
        case .seatsBooked(_, let seats, let seq):
            recorder.record(name, .observe, "seats_booked", ["event": .string(eventID), "seq": .int(seq), "seats": .list(seats)])
        }
    }

    /// The process name of a user id (`u3`).
    private func userName(_ id: String) -> String {
        guard let number = Int(id, radix: 16) else { return id }
        return "u\(number - 0x5151_0000)"
    }

    /// The fault schedule: at each time of ``SimConfiguration/hotStateLossAtMs`` the hot state is
    /// lost and rebuilt from the durable store with a fresh generation (sold seats stay sold).
    func nemesis(hot: SimHotStore, durable: SQLiteDurableStore, startMs: Int64) async {
        for atMs in configuration.hotStateLossAtMs.sorted() {
            await scheduler.sleep(ms: startMs + atMs - scheduler.clock.nowMs())
            guard let generation = try? await durable.nextHotGeneration(), let booked = try? await durable.bookedSeats(eventID: eventID) else { continue }
            recorder.record("nemesis", .fault, "hot_state_loss", ["generation": .int(generation)])
            let fresh = InMemoryHotStore(generation: generation, logCapacity: configuration.changeLogCapacity, mutant: configuration.mutant)
            try? await fresh.loadBooked(eventID: eventID, seatIDs: booked)
            hot.replace(with: fresh)
        }
    }

    /// The server's own expiry, on virtual time.
    func sweeper() async {
        while !finished {
            await scheduler.sleep(ms: configuration.sweepIntervalMs)
            _ = try? await engine.sweep()
        }
    }
}
