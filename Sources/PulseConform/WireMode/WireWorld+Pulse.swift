import Foundation
import PulseHistory
import PulseScenario
import PulseWire
import Synchronization

/// The Pulse profile: holds, extensions and releases over REST, subscribers on the live WebSocket.
extension WireWorld {
    private var holdHeaders: [(String, String)] {
        context.session.testControl ? [("Pulse-Test-Hold-TTL", "\(configuration.holdTTLSeconds)")] : []
    }

    /// One user: thinks, maybe browses the seat map, holds, then checks out (retrying an unknown
    /// outcome with the same key, and sometimes a booked one: after its answer or racing it from a
    /// second client, `u3/2`), releases (by hold id over REST, or seat by seat with `release_lock`
    /// on its own live connection), extends or abandons, as SimWorld's users do, on the real clock.
    func user(index: Int, _ user: TestUser) async throws {
        let name = "u\(index)"
        var choices = UserChoices(configuration, user: index)
        var live: LiveConnection?
        for operation in 0..<configuration.operationsPerUser {
            try await Task.sleep(for: choices.think())
            if choices.browses() { await browse(name, as: user) }
            let seats = choices.seats()
            let held = try await perform(
                name, "hold", ["event": .string(event), "seats": .list(seats)],
                .POST, "/api/v1/events/\(event)/holds", user, ["seatIds": ids(seats)], headers: holdHeaders
            ) { reply in
                let hold = reply.object("hold")
                return [
                    "seats": .list((hold["seatIds"] as? [String])?.map(label) ?? seats), "hold": .string(hold["id"] as? String ?? ""),
                    "fence": .int((hold["fence"] as? NSNumber)?.int64Value ?? 0), "expires_at_ns": .int(Self.ns(hold["expiresAt"] as? String)),
                ]
            }
            guard let hold = held?.object("hold")["id"] as? String else { continue }
            try await Task.sleep(for: choices.think())
            if choices.extends() {
                _ = try await perform(
                    name, "extend", ["event": .string(event), "hold": .string(hold)], .POST,
                    "/api/v1/events/\(event)/holds/\(hold)/extend", user, [:]
                ) { reply in
                    ["hold": .string(hold), "expires_at_ns": .int(Self.ns(reply.object("hold")["expiresAt"] as? String))]
                }
            }
            switch choices.ending() {
            case .checkout:
                let key = "wire-\(context.session.runID)-\(index)-\(operation)"
                let booked: APIReply?
                switch choices.retry() {
                case .racing?:
                    async let first = checkout(name, seats, key: key, as: user)
                    async let second = checkout("\(name)/2", seats, key: key, as: user)
                    let answers = try await [first, second]
                    booked = answers.compactMap { $0 }.first { $0.status == 201 }
                case .after?:
                    booked = try await checkout(name, seats, key: key, as: user)
                    if booked?.status == 201 { _ = try await checkout(name, seats, key: key, as: user) }
                case nil:
                    booked = try await checkout(name, seats, key: key, as: user)
                }
                let pauses = choices.cancelPauses()
                if booked?.status == 201, let id = booked.map({ Self.booking($0.object("booking")).id }), !id.isEmpty {
                    for pause in pauses {
                        try await Task.sleep(for: pause)
                        try await cancel(name, booking: id, as: user)
                    }
                }
            case .release:
                if live?.closed == true { live = nil }  // its instance went away: join again
                if choices.releasesBySeats(), let connection = try await joinedOnce(&live, name, user) {
                    for seat in seats { await releaseLock(name, seat, on: connection) }
                } else {
                    _ = try await perform(
                        name, "release", ["event": .string(event), "hold": .string(hold)], .DELETE,
                        "/api/v1/events/\(event)/holds/\(hold)", user, nil
                    ) { _ in ["released": .list(seats)] }
                }
            case .abandon:
                continue
            }
        }
        live?.close()
    }

    /// A cancel of a booking, retried while its outcome is unknown (cancelling is idempotent).
    private func cancel(_ name: String, booking: String, as user: TestUser) async throws {
        for _ in 0..<3 {
            let reply = try await perform(
                name, "cancel", ["event": .string(event), "booking": .string(booking)], .POST,
                "/api/v1/bookings/\(booking)/cancel", user, [:]
            ) { reply in
                ["booking": .string(booking), "seats": .list(Self.booking(reply.object("booking")).seats.map(label))]
            }
            if let status = reply?.status, status < 500 { return }
        }
    }

    /// The user's live connection, joined now if it is not yet. On a deployment of several
    /// instances a join that fails moves the user to the next instance and gives nil (the user
    /// releases over REST instead); on one instance it throws.
    private func joinedOnce(_ live: inout LiveConnection?, _ name: String, _ user: TestUser) async throws -> LiveConnection? {
        if let live { return live }
        do {
            live = try await joined(name, user)
        } catch  where routing.spread {
            routing.failed(name)
        }
        return live
    }

    /// The user's own live connection, joined to the event (for `release_lock`).
    private func joined(_ name: String, _ user: TestUser) async throws -> LiveConnection {
        let connection = routing.route(name).context.live(user.token)
        connection.send(["type": "join_event", "eventId": event])
        _ = try await connection.next(seconds: 10, "the user's snapshot") { $0.type == "snapshot" }
        return connection
    }

    /// `release_lock` of one seat: `ok` when the event announces it released, `fail` on an
    /// `error` (the code), `info` when neither comes.
    private func releaseLock(_ name: String, _ seat: String, on connection: LiveConnection) async {
        recorder.record(name, .invoke, "release", ["event": .string(event), "seats": .list([seat])])
        let id = ids([seat])[0]
        let mark = connection.messages.count
        connection.send(["type": "release_lock", "eventId": event, "seatId": id])
        let answer = try? await connection.next(after: mark, seconds: 5, "the answer to release_lock") {
            $0.type == "seat_released" && $0.string("seatId") == id || $0.type == "error"
        }
        switch answer?.type {
        case "seat_released"?: recorder.record(name, .ok, "release", ["event": .string(event), "released": .list([seat])])
        case "error"?: recorder.record(name, .fail, "release", ["event": .string(event)], error: answer?.string("code") ?? "error")
        default: recorder.record(name, .info, "release", ["event": .string(event)], error: "no answer to release_lock within 5 s")
        }
    }

    /// Turns a subscriber's messages into `observe` records.
    func recordStream(_ name: String, _ connection: LiveConnection) {
        for message in connection.messages {
            guard let json = message.json, let type = message.type else { continue }
            if type == "snapshot" {
                var value = seatsView(json["seats"] as? [[String: Any]] ?? [])
                if let seq = message.seq { value["seq"] = .int(seq) }
                recorder.record(at: message.receivedAtNs, name, .observe, type, value)
            } else if let value = change(type, json) {
                recorder.record(at: message.receivedAtNs, name, .observe, type, value)
            }
        }
    }
}

/// A subscriber of a wire run on the live WebSocket, joined to the event on its instance. When
/// that connection closes (its instance crashed, or missed a heartbeat) it joins again on the next
/// instance half a second later, from the last seq it saw (`sinceSeq`), as a browser
/// behind a load balancer would, and the time it was away is recorded as its `disconnect`. Its
/// messages are recorded at the end, with their arrival times.
final class WireSubscriber: Sendable {
    let name: String
    private let token: String
    private let world: WireWorld
    private let connections = Mutex<[LiveConnection]>([])

    init(_ name: String, token: String, world: WireWorld) {
        self.name = name
        self.token = token
        self.world = world
        connect(sinceSeq: nil)
    }

    /// The connection it listens on now.
    var current: LiveConnection { connections.withLock { $0[$0.count - 1] } }

    private func connect(sinceSeq: Int64?) {
        // Over several instances a heartbeat tells a connection to a dead instance from a quiet
        // one (a crashed server's goodbye may be lost; a paused one says nothing).
        let connection = world.routing.route(name).context.live(token, heartbeat: world.routing.spread ? .seconds(2) : nil)
        var join: [String: Any] = ["type": "join_event", "eventId": world.event]
        if let sinceSeq { join["sinceSeq"] = sinceSeq }
        connection.send(join)
        connections.withLock { $0.append(connection) }
    }

    /// Rejoins elsewhere whenever its connection closes, until cancelled (one instance: it only
    /// listens).
    func keepJoined() async {
        guard world.routing.spread else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            if current.closed, !Task.isCancelled { await rejoin() }
        }
    }

    /// Joins on the next instance from the last seq seen, half a second after its connection
    /// closed (a browser waits a moment before it reconnects; Socket.IO's first delay is 1 s),
    /// and records its time away as a `disconnect`.
    /// A join that gets no answer in 10 s (its request lost on the way, under packet loss) is
    /// no join: that connection is closed and the next instance tried, up to five times; the
    /// time away lasts until a join is answered.
    private func rejoin() async {
        let lostNs = WireRecorder.nowNs()
        for _ in 0..<5 where !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(500))
            let seen = connections.withLock { $0.flatMap(\.messages).compactMap(\.seq).max() }
            world.routing.failed(name)
            connect(sinceSeq: seen)
            let rejoined = current
            do {
                _ = try await rejoined.waitUntil(seconds: 10, "the rejoin") { messages in
                    messages.contains { ["joined", "snapshot"].contains($0.type ?? "") }
                }
                break
            } catch {
                rejoined.close()
            }
        }
        world.recorder.record(
            at: lostNs, "nemesis", .fault, "disconnect", ["process": .string(name), "ms": .int(max(1, (WireRecorder.nowNs() - lostNs) / 1_000_000))])
    }

    /// Asks for a fresh snapshot, as a client that reloads would (on a new connection if its own
    /// closed meanwhile, over several instances), and waits for it.
    func finalSnapshot() async {
        if world.routing.spread, current.closed { await rejoin() }
        let connection = current
        let before = connection.messages.filter { $0.type == "snapshot" }.count
        connection.send(["type": "join_event", "eventId": world.event])
        _ = try? await connection.waitUntil(seconds: 30, "a final snapshot") { $0.filter { $0.type == "snapshot" }.count > before }
    }

    /// Records what each of its connections received, in order.
    func record() {
        for connection in connections.withLock({ $0 }) { world.recordStream(name, connection) }
    }

    func close() {
        for connection in connections.withLock({ $0 }) { connection.close() }
    }
}
