import Foundation
import PulseHistory
import PulseScenario
import PulseWire

/// The Socket.IO profile (a seed-style server): each user locks and releases one seat at a time on
/// its own Socket.IO connection (the seed ties locks to the socket) and checks out over REST;
/// subscribers read the seat map, then listen on Socket.IO. Nothing the seed sends carries a seq
/// or says when a lock expires, so a lock's expiry is taken from the target's TTL counted from
/// the request.
extension WireWorld {
    /// One user, drawing the same choices as the Pulse profile's: a multi-seat attempt is one
    /// `request_lock` per seat (each its own hold in the history); at the end the user leaves the
    /// page, and the server releases whatever its socket still holds.
    func socketUser(index: Int, _ user: TestUser) async throws {
        let name = "u\(index)"
        var choices = UserChoices(configuration, user: index)
        // Joined before its first request_lock: a lock is confirmed by the room's seat_locked.
        let socket = try await context.joinedSocket(event, token: user.token)
        defer { socket.close() }
        var holding: [String] = []
        for operation in 0..<configuration.operationsPerUser {
            try await Task.sleep(for: choices.think())
            if choices.browses() { await browse(name, as: user) }
            var seats: [String] = []
            for seat in choices.seats() where await lock(name, seat, hold: "\(name)-\(operation)-\(seat)", on: socket, as: user) {
                seats.append(seat)
            }
            holding += seats
            guard !seats.isEmpty else { continue }
            try await Task.sleep(for: choices.think())
            _ = choices.extends()  // the seed cannot extend a lock; the draw keeps both profiles' sequences alike
            switch choices.ending() {
            case .checkout:
                // The seed has no idempotency: a retry books again or fails, so none is sent (the draw keeps the sequences alike).
                _ = choices.retry()
                let answer = try await checkout(name, seats, key: "wire-\(context.session.runID)-\(index)-\(operation)", as: user)
                _ = choices.cancelPauses()  // the seed cannot cancel; the draw keeps both profiles' sequences alike
                if answer?.status == 201 || answer?.status == 200 { holding.removeAll { seats.contains($0) } }
            case .release:
                _ = choices.releasesBySeats()  // the seed releases seat by seat over Socket.IO only
                for seat in seats { await release(name, seat, on: socket) }
                holding.removeAll { seats.contains($0) }
            case .abandon:
                continue
            }
        }
        guard !holding.isEmpty else { return }
        // Leaving the page: the seed releases (and announces) every seat this socket locked. Only
        // subscribers can see the outcome, so the release stays unanswered here.
        recorder.record(name, .invoke, "release", ["event": .string(event), "seats": .list(holding), "disconnect": .bool(true)])
        socket.close()
        recorder.record(name, .info, "release", ["event": .string(event)], error: "disconnected (the server releases the socket's locks)")
    }

    /// `request_lock` of one seat: `ok` when the room hears `seat_locked` for this user, `fail` on
    /// `lock_failed`, `info` when neither comes.
    private func lock(_ name: String, _ seat: String, hold: String, on socket: SocketIOConnection, as user: TestUser) async -> Bool {
        recorder.record(name, .invoke, "hold", ["event": .string(event), "seats": .list([seat])])
        let requestedNs = WireRecorder.nowNs()
        let mark = socket.events.count
        let seatID = ids([seat])[0]
        socket.emit("request_lock", ["eventId": event, "seatId": seatID])
        do {
            let answer = try await socket.next(after: mark, seconds: 10, "the answer to request_lock \(seat)") {
                $0.object["seatId"] as? String == seatID
                    && ($0.name == "lock_failed" || $0.name == "seat_locked" && $0.object["lockedBy"] as? String == user.id)
            }
            guard answer.name == "seat_locked" else {
                recorder.record(name, .fail, "hold", ["event": .string(event)], error: "lock_failed")
                return false
            }
            recorder.record(
                name, .ok, "hold",
                [
                    "event": .string(event), "seats": .list([seat]), "hold": .string(hold),
                    "expires_at_ns": .int(requestedNs + Int64(holdTTLSeconds) * 1_000_000_000),
                ])
            return true
        } catch {
            recorder.record(name, .info, "hold", ["event": .string(event)], error: "no answer: \(error)")
            return false
        }
    }

    /// `release_lock` of one seat: `ok` when the room hears `seat_released` for it, else `info`
    /// (the seed answers a release that released nothing with silence).
    private func release(_ name: String, _ seat: String, on socket: SocketIOConnection) async {
        recorder.record(name, .invoke, "release", ["event": .string(event), "seats": .list([seat])])
        let mark = socket.events.count
        let seatID = ids([seat])[0]
        socket.emit("release_lock", ["eventId": event, "seatId": seatID])
        if (try? await socket.next(after: mark, seconds: 5, "seat_released \(seat)") {
            $0.name == "seat_released" && $0.object["seatId"] as? String == seatID
        }) != nil {
            recorder.record(name, .ok, "release", ["event": .string(event), "released": .list([seat])])
        } else {
            recorder.record(name, .info, "release", ["event": .string(event)], error: "no seat_released within 5 s")
        }
    }

    /// A subscriber as a seed browser is: it joins the room, then reads the seat map over REST (its
    /// first view; the seed gives no seq to order the two).
    func socketSubscriber(_ name: String, token: String) async throws -> (String, SocketIOConnection) {
        let socket = try await context.joinedSocket(event, token: token)
        try await readSeatMap(name)
        return (name, socket)
    }

    /// The seat map over REST, recorded as `name`'s view (a seed browser's first view, and its
    /// view after a reload).
    func readSeatMap(_ name: String) async throws {
        let reply = try await context.call(.GET, "/api/v1/events/\(event)/seats")
        guard reply.status == 200 else { throw APIError("the seat map answered \(reply.status)") }
        var view = seatsView(reply.objects("seats"))
        if let seq = ((reply.json["data"] as? [String: Any])?["seq"] as? NSNumber)?.int64Value { view["seq"] = .int(seq) }
        recorder.record(name, .observe, "snapshot", view)
    }

    /// Turns a subscriber's Socket.IO events into `observe` records.
    func recordStream(_ name: String, _ socket: SocketIOConnection) {
        for received in socket.events {
            guard let value = change(received.name, received.object) else { continue }
            recorder.record(at: received.receivedAtNs, name, .observe, received.name, value)
        }
    }
}
