import Foundation
import PulseWire

extension Catalogue {
    static let live: [ConformanceCase] = [
        ConformanceCase(
            "live.upgrade", "PB-LIVE-1",
            "a plain GET is 426 (401 without a token); an upgrade without a valid token is a 401 or an error with its code, then close 1008",
            needs: []
        ) { c in
            let user = try await c.user()
            try c.expect(try await c.call(.GET, "/api/v1/live", token: user.token), 426, "upgrade_required")
            try c.expect(try await c.call(.GET, "/api/v1/live"), 401, "unauthenticated", "a plain GET without a token")
            for (token, code) in [(nil, "unauthenticated"), ("garbage", "invalid_token")] as [(String?, String)] {
                try await c.refusedUpgrade(token: token, code: code)
            }
        },
        ConformanceCase("live.snapshot", "PB-LIVE-8", "join_event is answered with a snapshot: eventId, seq and every seat") { c in
            let event = try await c.event(rows: 2, cols: 5)
            let connection = c.live(try await c.user().token)
            connection.send(["type": "join_event", "eventId": event])
            let snapshot = try await connection.next("snapshot") { $0.type == "snapshot" }
            try c.check(snapshot.string("eventId") == event && snapshot.seq != nil, "snapshot without eventId or seq")
            try c.check(
                (snapshot.json?["seats"] as? [Any])?.count == 10, "snapshot has \((snapshot.json?["seats"] as? [Any])?.count ?? 0) seats, not 10")
        },
        ConformanceCase("live.seq-order", "PB-LIVE-7", "changes arrive in seq order, one per seat, right after the snapshot's seq") { c in
            let event = try await c.event()
            let watcher = c.live(try await c.user(1).token)
            watcher.send(["type": "join_event", "eventId": event])
            let snapshot = try await watcher.next("snapshot") { $0.type == "snapshot" }
            _ = try await c.hold(event, ["A1", "A2", "A3"], as: try await c.user(0))
            _ = try await c.hold(event, ["B1", "B2"], as: try await c.user(0))
            let seen = try await watcher.waitUntil("five seat_locked") { $0.filter { $0.type == "seat_locked" }.count >= 5 }
            let seqs = seen.filter { $0.type == "seat_locked" }.compactMap(\.seq)
            let start = snapshot.seq ?? 0
            try c.check(seqs == Array((start + 1)...(start + 5)), "seqs after snapshot \(start): \(seqs)")
        },
        ConformanceCase("live.same-order", "PB-LIVE-7", "two subscribers see the same changes at the same seqs") { c in
            let event = try await c.event()
            let (one, two) = (try await c.subscriber(event, as: try await c.user(1)), try await c.subscriber(event, as: try await c.user(2)))
            let user = try await c.user(0)
            for seat in ["A1", "A2", "A3", "A4"] { _ = try await c.hold(event, [seat], as: user) }
            func changes(_ connection: LiveConnection) async throws -> [String] {
                try await connection.waitUntil("four changes") { $0.filter { $0.seq != nil && $0.type != "snapshot" }.count >= 4 }
                    .filter { $0.seq != nil && $0.type != "snapshot" }.map { "\($0.seq!) \($0.type ?? "") \($0.string("seatId") ?? "")" }
            }
            let (a, b) = (try await changes(one), try await changes(two))
            try c.check(a == b, "subscribers disagree: \(a) vs \(b)")
        },
        ConformanceCase("live.resync", "PB-LIVE-8", "a re-join with sinceSeq gets exactly the missed changes, then joined") { c in
            let event = try await c.event()
            let watcher = try await c.user(1)
            let first = try await c.subscriber(event, as: watcher)
            let since = first.messages.first { $0.type == "snapshot" }?.seq ?? 0
            first.close()
            let user = try await c.user(0)
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let again = c.live(watcher.token)
            again.send(["type": "join_event", "eventId": event, "sinceSeq": since])
            let seen = try await again.waitUntil("joined") { $0.contains { $0.type == "joined" } }
            let replayed = seen.prefix { $0.type != "joined" }.filter { $0.type == "seat_locked" }.compactMap(\.seq)
            try c.check(replayed == [since + 1, since + 2], "replayed seqs \(replayed) after sinceSeq \(since)")
            try c.check(seen.first { $0.type == "joined" }?.seq == since + 2, "joined carries seq \(seen.first { $0.type == "joined" }?.seq ?? -1)")
        },
        ConformanceCase("live.malformed", "PB-LIVE-9", "malformed messages get an error and the connection lives on") { c in
            let event = try await c.event()
            let connection = c.live(try await c.user().token)
            connection.send(text: "this is not json")
            let first = try await connection.next("error malformed_json") { $0.type == "error" }
            try c.check(first.string("code") == "malformed_json", "code is \(first.string("code") ?? "absent")")
            connection.send(["type": "dance", "eventId": event])
            let second = try await connection.next(after: 1, "error unknown_message_type") { $0.type == "error" }
            try c.check(second.string("code") == "unknown_message_type", "code is \(second.string("code") ?? "absent")")
            connection.send(["type": "join_event"])
            let third = try await connection.next(after: 2, "error validation_failed") { $0.type == "error" }
            try c.check(third.string("code") == "validation_failed", "code is \(third.string("code") ?? "absent")")
            connection.send(["type": "join_event", "eventId": event])
            _ = try await connection.next("a snapshot after the bad messages") { $0.type == "snapshot" }
        },
        ConformanceCase("live.request-lock", "PB-LIVE-4", "request_lock answers lock_acquired with the hold and broadcasts seat_locked") { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let locker = try await c.subscriber(event, as: user)
            locker.send(["type": "request_lock", "eventId": event, "seatId": "A5"])
            let acquired = try await locker.next("lock_acquired") { $0.type == "lock_acquired" }
            try c.check(isHex((acquired.json?["hold"] as? [String: Any])?["id"] as? String, count: 32), "lock_acquired without a hold id")
            let locked = try await watcher.next("seat_locked A5") { $0.type == "seat_locked" && $0.string("seatId") == "A5" }
            try c.check(locked.string("lockedBy") == user.id, "lockedBy is \(locked.string("lockedBy") ?? "absent")")
        },
        ConformanceCase("live.lock-failed", "PB-LIVE-9", "request_lock on a held seat answers lock_failed seat_unavailable") { c in
            let event = try await c.event()
            _ = try await c.hold(event, ["A1"], as: try await c.user(0))
            let connection = try await c.subscriber(event, as: try await c.user(1))
            connection.send(["type": "request_lock", "eventId": event, "seatId": "A1"])
            let failed = try await connection.next("lock_failed") { $0.type == "lock_failed" || $0.type == "lock_acquired" }
            try c.check(failed.type == "lock_failed" && failed.string("code") == "seat_unavailable", "got \(failed.text)")
        },
        ConformanceCase("live.no-empty-release", "PB-LIVE-5", "release_lock of a seat the caller does not hold broadcasts nothing (seed race 4)") {
            c in
            let event = try await c.event()
            let owner = try await c.user(0)
            _ = try await c.hold(event, ["A1"], as: owner)
            let watcher = try await c.subscriber(event, as: try await c.user(2))
            let stranger = try await c.subscriber(event, as: try await c.user(1))
            stranger.send(["type": "release_lock", "eventId": event, "seatId": "A1"])
            stranger.send(["type": "release_lock", "eventId": event, "seatId": "A2"])
            try await Task.sleep(for: .milliseconds(300))
            _ = try await c.hold(event, ["A3"], as: owner)
            let next = try await watcher.next("the next change (seat_locked A3)") { $0.seq != nil && $0.type != "snapshot" }
            try c.check(
                next.type == "seat_locked" && next.string("seatId") == "A3",
                "a change was broadcast for a release that released nothing: \(next.text)")
        },
        ConformanceCase("live.release-reason", "PB-LIVE-6", "a release by the owner is broadcast with reason released") { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let hold = try await c.hold(event, ["A1"], as: user)
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")", token: user.token), 204)
            let released = try await watcher.next("seat_released A1") { $0.type == "seat_released" && $0.string("seatId") == "A1" }
            try c.check(released.string("reason") == "released", "reason is \(released.string("reason") ?? "absent")")
        },
        ConformanceCase("live.booked", "PB-LIVE-5", "a booking is broadcast as one seats_booked at the next seq") { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"]]), 201)
            let seen = try await watcher.waitUntil("seats_booked") { $0.contains { $0.type == "seats_booked" } }
            let booked = seen.first { $0.type == "seats_booked" }!
            let lastLock = seen.filter { $0.type == "seat_locked" }.compactMap(\.seq).max() ?? -1
            try c.check(
                Set((booked.json?["seatIds"] as? [String]) ?? []) == ["A1", "A2"] && booked.seq == lastLock + 1, "seats_booked is \(booked.text)")
        },
        ConformanceCase("live.disconnect-releases", "PB-LIVE-11", "closing a connection releases its request_lock holds (reason disconnected)") { c in
            let event = try await c.event()
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let locker = try await c.subscriber(event, as: try await c.user(0))
            locker.send(["type": "request_lock", "eventId": event, "seatId": "B2"])
            _ = try await locker.next("lock_acquired") { $0.type == "lock_acquired" }
            locker.close()
            let released = try await watcher.next("seat_released B2") { $0.type == "seat_released" && $0.string("seatId") == "B2" }
            try c.check(released.string("reason") == "disconnected", "reason is \(released.string("reason") ?? "absent")")
        },
        ConformanceCase(
            "live.close-keeps-rest-holds", "PB-LIVE-11", "closing a connection releases only its request_lock holds, never the user's REST holds"
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let rest = try await c.hold(event, ["A1"], as: user)
            let connection = try await c.subscriber(event, as: user)
            connection.send(["type": "request_lock", "eventId": event, "seatId": "A2"])
            _ = try await connection.next("lock_acquired") { $0.type == "lock_acquired" }
            connection.close()
            _ = try await watcher.next("seat_released A2") { $0.type == "seat_released" && $0.string("seatId") == "A2" }
            try await Task.sleep(for: .milliseconds(300))
            try c.check(
                !watcher.messages.contains { $0.type == "seat_released" && $0.string("seatId") == "A1" },
                "the REST hold's seat was announced released")
            let holds = try await c.call(.GET, "/api/v1/events/\(event)/holds", token: user.token).objects("holds").compactMap { $0.string("id") }
            try c.check(holds == [rest.string("id") ?? "-"], "the user's holds after the close: \(holds)")
        },
        ConformanceCase("live.leave-not-joined", "PB-LIVE-3", "leave_event for an event not joined is an error not_joined") { c in
            let event = try await c.event()
            let connection = c.live(try await c.user().token)
            connection.send(["type": "leave_event", "eventId": event])
            let error = try await connection.next("error") { $0.type == "error" }
            try c.check(error.string("code") == "not_joined", "code is \(error.string("code") ?? "absent")")
        },
    ]
}
