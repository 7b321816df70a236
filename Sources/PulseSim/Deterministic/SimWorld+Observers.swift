import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario

extension SimWorld {
    /// One subscriber's live connection to the server process of one epoch.
    private struct Connection {
        let inbox: SimInbox
        let subscriberID: Int
        let epoch: Int
    }

    /// A subscriber: a browser on the production live hub. It joins (a snapshot), then takes what
    /// the hub queued for it every poll, on virtual time. Its connection may drop (it rejoins with
    /// `sinceSeq`), its messages may come late or be lost (it notices the gap in seqs and rejoins
    /// from its last seq), and a server crash ends it (it rejoins once the server is back). A last
    /// fresh join at the end of the run is its final read.
    func subscriber() async {
        let name = SimScheduler.currentProcess ?? "s"
        var cursor: Int64?
        var connection = await connect(name, sinceSeq: nil, cursor: &cursor)
        while !finished {
            await scheduler.sleep(ms: configuration.subscriberPollMs)
            if faults.strikes(configuration.subscriberDropProbability) {
                recorder.record("nemesis", .fault, "disconnect", ["process": .string(name), "ms": .int(configuration.subscriberDropMs)])
                await disconnect(connection)
                await scheduler.sleep(ms: configuration.subscriberDropMs)
                connection = await connect(name, sinceSeq: cursor, cursor: &cursor)
                continue
            }
            guard let current = connection, current.epoch == server.epoch else {
                // Never joined, or the server crashed: rejoin once it answers again.
                connection = await connect(name, sinceSeq: cursor, cursor: &cursor)
                continue
            }
            if await !receive(name, current, cursor: &cursor) {
                // A message was lost: the seqs show the gap, so ask again from the last one seen.
                await disconnect(current)
                connection = await connect(name, sinceSeq: cursor, cursor: &cursor)
            }
        }
        // The final read: what this subscriber would show once everything settled (a fresh join;
        // its snapshot may come a poll later, when another joiner's is being made).
        await disconnect(connection)
        var finalSeq: Int64?
        let final = await connect(name, sinceSeq: nil, cursor: &finalSeq)
        for _ in 0..<20 where finalSeq == nil {
            guard let final else { break }
            await scheduler.sleep(ms: configuration.subscriberPollMs)
            _ = await receive(name, final, cursor: &finalSeq, faulty: false)
        }
        await disconnect(final)
    }

    /// Joins the event on the current server's hub and takes what it answered at once.
    private func connect(_ name: String, sinceSeq: Int64?, cursor: inout Int64?) async -> Connection? {
        let event = eventID
        let inbox = SimInbox()
        let joined = try? await server.serveProcess { process -> Connection in
            let id = await process.hub.newSubscriberID()
            try await process.hub.join(eventID: event, sinceSeq: sinceSeq, subscriberID: id, outbox: inbox)
            return Connection(inbox: inbox, subscriberID: id, epoch: process.epoch)
        }
        guard let connection = joined ?? nil else { return nil }
        _ = await receive(name, connection, cursor: &cursor, faulty: false)
        return connection
    }

    private func disconnect(_ connection: Connection?) async {
        guard let connection else { return }
        connection.inbox.close()
        _ = try? await server.serveProcess { process in
            if process.epoch == connection.epoch { await process.hub.leaveAll(subscriberID: connection.subscriberID) }
        }
    }

    /// Records the messages the hub queued, in order. False when one was lost in transit (the
    /// rest of the batch is then discarded, as a client that saw the gap would).
    private func receive(_ name: String, _ connection: Connection, cursor: inout Int64?, faulty: Bool = true) async -> Bool {
        let messages = connection.inbox.take()
        if faulty, !messages.isEmpty, faults.strikes(configuration.messageDelayProbability) {
            let ms = 1 + Int64(scheduler.below(Int(configuration.messageDelayMsMax)))
            recorder.record("nemesis", .fault, "message_delay", ["process": .string(name), "ms": .int(ms)])
            await scheduler.sleep(ms: ms)
        }
        for message in messages {
            switch message {
            case .snapshot(_, let seq, let seats):
                recordSnapshot(name, seq: seq, seats: seats)
                cursor = seq
            case .joined(_, let seq):
                recorder.record(name, .observe, "joined", ["event": .string(eventID), "seq": .int(seq)])
                cursor = seq
            case .change(let change):
                if faulty, faults.strikes(configuration.messageDropProbability) {
                    recorder.record("nemesis", .fault, "message_drop", ["process": .string(name), "seq": .int(change.seq)])
                    return false
                }
                observe(name, change)
                cursor = change.seq
            case .lockAcquired, .lockFailed, .error:
                continue
            }
        }
        return true
    }

    private func recordSnapshot(_ name: String, seq: Int64, seats: [SeatResource]) {
        var locked: [String: HistoryValue] = [:]
        for seat in seats where seat.status == .locked { locked[seat.id] = .string(userName(seat.lockedBy ?? "")) }
        recorder.record(
            name, .observe, "snapshot",
            [
                "event": .string(eventID), "seq": .int(seq),
                "booked": .list(seats.filter { $0.status == .booked }.map(\.id)), "locked": .object(locked),
            ])
    }

    private func observe(_ name: String, _ change: SeatChange) {
        switch change {
        case .seatLocked(_, let seat, let user, let seq):
            recorder.record(
                name, .observe, "seat_locked", ["event": .string(eventID), "seq": .int(seq), "seat": .string(seat), "user": .string(userName(user))])
        case .seatReleased(_, let seat, let reason, let seq):
            recorder.record(
                name, .observe, "seat_released",
                ["event": .string(eventID), "seq": .int(seq), "seat": .string(seat), "reason": .string(reason.rawValue)])
        case .seatsBooked(_, let seats, let seq):
            recorder.record(name, .observe, "seats_booked", ["event": .string(eventID), "seq": .int(seq), "seats": .list(seats)])
        case .seatsReleased(_, let seats, let reason, let seq):
            recorder.record(
                name, .observe, "seats_released",
                ["event": .string(eventID), "seq": .int(seq), "seats": .list(seats), "reason": .string(reason.rawValue)])
        case .eventDeleted(_, let seq):
            recorder.record(name, .observe, "event_deleted", ["event": .string(eventID), "seq": .int(seq)])
        }
    }

    /// The server's live hub, on virtual time: every `livePumpMs` it delivers the changes of the
    /// events the hot store rang for, as its production run loop does on each ring.
    func liveHub() async {
        while !finished {
            await scheduler.sleep(ms: configuration.livePumpMs)
            _ = try? await server.serveProcess { process in
                for eventID in process.engine.hot.changeFeed.takeChanged() { await process.hub.pump(eventID) }
            }
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
