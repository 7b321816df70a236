import Foundation
import PulseWire

/// The wire protocol a target speaks for live updates.
public enum Profile: String, Sendable, CaseIterable {
    /// The Pulse Booking Protocol: REST plus the plain-WebSocket live protocol (PB-LIVE).
    case pulse
    /// A seed-style server: the seed's REST routes plus Socket.IO 4 with the seed's event names
    /// and payloads; the live clauses are checked over Socket.IO.
    case socketio
}

extension Catalogue {
    /// The REST cases that apply to a seed-style server (routes it has); the rest of its grade comes
    /// from the Socket.IO cases.
    static let seedRESTCases: Set<String> = [
        "rest.success-envelope", "errors.envelope", "errors.route-not-found", "errors.invalid-id", "users.signup", "users.login",
        "users.login-refused", "auth.missing-token", "auth.malformed-token", "auth.tampered-token", "auth.alg-none", "auth.token-payload",
        "auth.admin-only", "events.create", "events.get", "seats.map",
    ]

    /// The cases of `profile` whose clause (or id) starts with `prefix`.
    public static func cases(profile: Profile, clausePrefix prefix: String? = nil) -> [ConformanceCase] {
        let chosen = switch profile {
        case .pulse: all
        case .socketio: all.filter { seedRESTCases.contains($0.id) } + socketIO
        }
        guard let prefix, !prefix.isEmpty else { return chosen }
        return chosen.filter { $0.clause.hasPrefix(prefix) || $0.id.hasPrefix(prefix) }
    }

    /// The live clauses over Socket.IO (`--profile socketio`).
    static let socketIO: [ConformanceCase] = [
        ConformanceCase("socketio.connect", "PB-LIVE-1", "a Socket.IO client connects with auth.token = Bearer <jwt>", needs: []) { c in
            let socket = c.socket(try await c.user().token)
            try await socket.waitConnected()
        },
        ConformanceCase("socketio.connect-refused", "PB-LIVE-1", "a bad token is refused with a connect error", needs: []) { c in
            let socket = c.socket("not-a-token")
            do {
                try await socket.waitConnected()
                throw CaseFailure("a connection with a bad token was accepted")
            } catch is APIError {
                c.note("refused: \(socket.connectError ?? "connection closed")")
            }
        },
        ConformanceCase("socketio.lock-broadcast", "PB-LIVE-4", "request_lock broadcasts seat_locked {seatId, lockedBy} to the event's room") { c in
            let event = try await c.event()
            let (owner, watcher) = (try await c.user(0), try await c.user(1))
            let watching = try await c.joinedSocket(event, token: watcher.token)
            let locking = try await c.joinedSocket(event, token: owner.token)
            locking.emit("request_lock", ["eventId": event, "seatId": "A1"])
            let locked = try await watching.next("seat_locked A1") { $0.name == "seat_locked" && $0.object["seatId"] as? String == "A1" }
            try c.check(locked.object["lockedBy"] as? String == owner.id, "lockedBy is \(locked.object["lockedBy"] ?? "absent")")
        },
        ConformanceCase("socketio.lock-failed", "PB-LIVE-9", "request_lock of a held seat answers lock_failed {seatId, ...} to the caller") { c in
            let event = try await c.event()
            let first = try await c.joinedSocket(event, token: try await c.user(0).token)
            first.emit("request_lock", ["eventId": event, "seatId": "A1"])
            _ = try await first.next("seat_locked A1") { $0.name == "seat_locked" }
            let second = try await c.joinedSocket(event, token: try await c.user(1).token)
            second.emit("request_lock", ["eventId": event, "seatId": "A1"])
            let failed = try await second.next("lock_failed") { $0.name == "lock_failed" || $0.name == "lock_acquired" }
            try c.check(failed.name == "lock_failed" && failed.object["seatId"] as? String == "A1", "got \(failed.name) \(failed.object)")
        },
        ConformanceCase("socketio.release-reason", "PB-LIVE-6", "release_lock by the owner broadcasts seat_released with reason released") { c in
            let event = try await c.event()
            let socket = try await c.joinedSocket(event, token: try await c.user(0).token)
            socket.emit("request_lock", ["eventId": event, "seatId": "A1"])
            _ = try await socket.next("seat_locked A1") { $0.name == "seat_locked" }
            socket.emit("release_lock", ["eventId": event, "seatId": "A1"])
            let released = try await socket.next("seat_released A1") { $0.name == "seat_released" }
            try c.check(released.object["reason"] as? String == "released", "seat_released carries no reason: \(released.object)")
        },
        ConformanceCase("socketio.seq", "PB-LIVE-5", "every change carries the event's next seq") { c in
            let event = try await c.event()
            let socket = try await c.joinedSocket(event, token: try await c.user(0).token)
            for seat in ["A1", "A2"] { socket.emit("request_lock", ["eventId": event, "seatId": seat]) }
            _ = try await socket.next(after: 1, "two seat_locked") { $0.name == "seat_locked" && $0.object["seatId"] as? String == "A2" }
            let seqs = socket.events.filter { $0.name == "seat_locked" }.map { ($0.object["seq"] as? NSNumber)?.int64Value }
            try c.check(seqs.allSatisfy { $0 != nil } && seqs.count == 2 && seqs[1]! == seqs[0]! + 1, "seat_locked seqs: \(seqs)")
        },
        ConformanceCase("socketio.no-empty-release", "PB-LIVE-5", "release_lock of a seat the caller does not hold broadcasts nothing") { c in
            let event = try await c.event()
            let owner = try await c.joinedSocket(event, token: try await c.user(0).token)
            owner.emit("request_lock", ["eventId": event, "seatId": "A1"])
            _ = try await owner.next("seat_locked A1") { $0.name == "seat_locked" }
            let stranger = try await c.joinedSocket(event, token: try await c.user(1).token)
            stranger.emit("release_lock", ["eventId": event, "seatId": "A1"])
            try await Task.sleep(for: .milliseconds(300))
            owner.emit("request_lock", ["eventId": event, "seatId": "A2"])
            let next = try await owner.next(after: 1, "the next change") { $0.name == "seat_locked" || $0.name == "seat_released" }
            try c.check(next.name == "seat_locked", "a release that released nothing was broadcast")
        },
        ConformanceCase("socketio.disconnect-releases", "PB-LIVE-11", "a socket's locks are released when it disconnects") { c in
            let event = try await c.event()
            let watcher = try await c.joinedSocket(event, token: try await c.user(1).token)
            let locker = try await c.joinedSocket(event, token: try await c.user(0).token)
            locker.emit("request_lock", ["eventId": event, "seatId": "B2"])
            _ = try await watcher.next("seat_locked B2") { $0.name == "seat_locked" }
            locker.close()
            _ = try await watcher.next("seat_released B2") { $0.name == "seat_released" && $0.object["seatId"] as? String == "B2" }
        },
        ConformanceCase("socketio.booked", "PB-LIVE-4", "a checkout broadcasts seats_booked {seatIds} to the room") { c in
            let event = try await c.event()
            let owner = try await c.user(0)
            let socket = try await c.joinedSocket(event, token: owner.token)
            socket.emit("request_lock", ["eventId": event, "seatId": "A3"])
            _ = try await socket.next("seat_locked A3") { $0.name == "seat_locked" }
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": ["A3"], "totalAmount": 25]), 201)
            let booked = try await socket.next("seats_booked") { $0.name == "seats_booked" }
            try c.check(booked.object["seatIds"] as? [String] == ["A3"], "seats_booked is \(booked.object)")
        },
        ConformanceCase("socketio.seat-map", "PB-SEAT-1", "a locked seat shows locked with lockedBy in the seat map") { c in
            let event = try await c.event()
            let owner = try await c.user(0)
            let socket = try await c.joinedSocket(event, token: owner.token)
            socket.emit("request_lock", ["eventId": event, "seatId": "A4"])
            _ = try await socket.next("seat_locked A4") { $0.name == "seat_locked" }
            let seat = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats").first { $0.string("id") == "A4" || $0.string("label") == "A4" } ?? [:]
            try c.check(seat.string("status") == "locked" && seat.string("lockedBy") == owner.id, "A4 is \(seat)")
        },
        ConformanceCase("socketio.malformed-payload", "PB-ERR-3", "a malformed payload neither crashes the server nor ends other connections") { c in
            let event = try await c.event()
            let bystander = try await c.joinedSocket(event, token: try await c.user(1).token)
            let sender = try await c.joinedSocket(event, token: try await c.user(0).token)
            sender.emit("request_lock", "not an object")
            sender.emit("request_lock", ["eventId": 42])
            try await Task.sleep(for: .milliseconds(300))
            bystander.emit("request_lock", ["eventId": event, "seatId": "B5"])
            _ = try await bystander.next("seat_locked B5 after the malformed payloads") { $0.name == "seat_locked" }
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)"), 200, nil, "the server after the malformed payloads")
        },
    ]
}
