import PulseScenario
import PulseHistory
import PulseProtocol
import PulseEngine

extension SimWorld {
    /// A subscriber: a snapshot, then every change in order, polled on virtual time; a fresh
    /// snapshot when it fell out of the log (or the server restarted), and a last one at the end of
    /// the run. Its connection may drop (it rejoins with `sinceSeq`), its messages may come late or
    /// be lost (it notices the gap in seqs and asks again from its last seq).
    func subscriber() async {
        let name = SimScheduler.currentProcess ?? "s"
        var cursor = await snapshot(name)
        while !finished {
            await scheduler.sleep(ms: configuration.subscriberPollMs)
            var rejoining = false
            if faults.strikes(configuration.subscriberDropProbability) {
                recorder.record("nemesis", .fault, "disconnect", ["process": .string(name), "ms": .int(configuration.subscriberDropMs)])
                await scheduler.sleep(ms: configuration.subscriberDropMs)
                rejoining = true
            }
            guard let cursorNow = cursor else { cursor = await snapshot(name); continue }
            let event = eventID
            switch try? await server.serve({ try await $0.changes(eventID: event, afterSeq: cursorNow) }) {
            case .changes(let changes)?:
                if !changes.isEmpty, faults.strikes(configuration.messageDelayProbability) {
                    let ms = 1 + Int64(scheduler.below(Int(configuration.messageDelayMsMax)))
                    recorder.record("nemesis", .fault, "message_delay", ["process": .string(name), "ms": .int(ms)])
                    await scheduler.sleep(ms: ms)
                }
                var delivered = cursorNow
                for change in changes {
                    if faults.strikes(configuration.messageDropProbability) {
                        recorder.record("nemesis", .fault, "message_drop", ["process": .string(name), "seq": .int(change.seq)])
                        break
                    }
                    observe(name, change)
                    delivered = change.seq
                }
                cursor = delivered
                if rejoining { recorder.record(name, .observe, "joined", ["event": .string(eventID), "seq": .int(delivered)]) }
            case .trimmed?:
                cursor = await snapshot(name)
            default:
                continue // the server is down or crashed meanwhile: try again at the next poll
            }
        }
        // The final read: what this subscriber would show once everything settled.
        _ = await snapshot(name)
    }

    private func snapshot(_ name: String) async -> Int64? {
        let event = eventID
        guard let map = try? await server.serve({ try await $0.seatMap(event) }) else { return nil }
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

    /// The server's own expiry, on virtual time (it does not run while the server is down).
    func sweeper() async {
        while !finished {
            await scheduler.sleep(ms: configuration.sweepIntervalMs)
            _ = try? await server.serve { try await $0.sweep() }
        }
    }
}
