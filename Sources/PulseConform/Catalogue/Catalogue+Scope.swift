import Foundation
import PulseWire

/// Cases on the scope of a live clause (issue 24, point 5): the words that say whose or which
/// ("its", "only", "in the event", "still owns"), each checked so that a server that reads the
/// scope wider or narrower fails. The scope cases of events, checkout and cancellation live
/// beside their areas (Catalogue+Events, +Checkout, +Cancel).
extension Catalogue {
    static let scope: [ConformanceCase] = [
        // PB-HOLD-2: a hold id "is shown only to the owner".
        ConformanceCase(
            "live.lock-only-to-owner", "PB-HOLD-2",
            "a hold id is shown only to its owner: lock_acquired reaches the caller alone, and no seat_locked carries a hold's id"
        ) { c in
            let event = try await c.event()
            let owner = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let locker = try await c.subscriber(event, as: owner)
            locker.send(["type": "request_lock", "eventId": event, "seatId": "A1"])
            let acquired = try await locker.next("lock_acquired A1") { $0.type == "lock_acquired" }
            let lockID = try c.require((acquired.json?["hold"] as? [String: Any])?["id"] as? String, "lock_acquired carries no hold id")
            let rest = try await c.hold(event, ["A2"], as: owner)
            // The marker: everything sent about the lock and the hold reaches the watcher before it.
            _ = try await watcher.next("seat_locked A2") { $0.type == "seat_locked" && $0.string("seatId") == "A2" }
            let ids = [lockID, rest.string("id") ?? lockID]
            let leaked = watcher.messages.filter { message in message.type == "lock_acquired" || ids.contains { message.text.contains($0) } }
            try c.check(
                leaked.isEmpty,
                "another user's subscriber was sent \(leaked.map { String($0.text.prefix(160)) }): a hold id shown to a user who does not own it")
        },
        // PB-LIVE-11: a closing connection releases the holds it acquired "and still owns".
        ConformanceCase(
            "live.disconnect-still-owns", "PB-LIVE-11",
            "a closing connection releases only the locks it still owns: not a seat it released that another user holds now, nor a seat it booked"
        ) { c in
            let event = try await c.event()
            let (owner, rival) = (try await c.user(0), try await c.user(1))
            let watcher = try await c.subscriber(event, as: try await c.user(2))
            let connection = try await c.subscriber(event, as: owner)
            var lockIDs: [String: String] = [:]
            for seat in ["A1", "A2", "A3"] {
                connection.send(["type": "request_lock", "eventId": event, "seatId": seat])
                let acquired = try await connection.next("lock_acquired \(seat)") { $0.type == "lock_acquired" && $0.string("seatId") == seat }
                lockIDs[seat] = (acquired.json?["hold"] as? [String: Any])?["id"] as? String
            }
            try c.expect(
                try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(lockIDs["A1"] ?? "-")", token: owner.token), 204, nil,
                "the owner's release over REST of the lock of A1")
            let taken = try await c.hold(event, ["A1"], as: rival)
            let rivalLocked = try await watcher.next("the rival's seat_locked A1") {
                $0.type == "seat_locked" && $0.string("seatId") == "A1" && $0.string("lockedBy") == rival.id
            }
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": ["A2"]]), 201, nil,
                "the owner's checkout of A2, locked over the socket")
            connection.close()
            let released = try await watcher.next("seat_released A3 when the connection closed") {
                $0.type == "seat_released" && $0.string("seatId") == "A3"
            }
            try c.check(
                released.string("reason") == "disconnected", "A3 was released with reason \(released.string("reason") ?? "none"), not disconnected")
            // The marker: a change made after the close's release.
            _ = try await c.hold(event, ["B1"], as: rival)
            _ = try await watcher.next("seat_locked B1, the marker after the close") { $0.type == "seat_locked" && $0.string("seatId") == "B1" }
            let wrong = watcher.changesAfterSnapshot.filter { message in
                (message.seq ?? 0) > (rivalLocked.seq ?? Int64.max) && (message.type == "seat_released" || message.type == "seats_released")
                    && (message.string("seatId") == "A1" || message.string("seatId") == "A2" || message.seatSet.contains("A2"))
            }
            try c.check(
                wrong.isEmpty,
                "after the connection closed the subscriber heard \(wrong.map(\.text)): a seat the connection no longer owned was released")
            let holds = try await c.call(.GET, "/api/v1/events/\(event)/holds", token: rival.token).objects("holds").compactMap { $0.string("id") }
            try c.check(
                holds.contains(taken.string("id") ?? "-"), "after the owner's connection closed the rival's hold of A1 is gone (its holds: \(holds))")
            let seats = try await c.seatStatuses(event).status
            try c.check(
                seats["A1"] == "locked" && seats["A2"] == "booked",
                "after the close the seat map shows A1 \(seats["A1"] ?? "absent"), A2 \(seats["A2"] ?? "absent"), not locked and booked")
        },
        // PB-LIVE-3: leave_event releases "the holds this connection acquired in the event".
        ConformanceCase(
            "live.leave-this-event", "PB-LIVE-3",
            "leave_event releases the connection's locks of the event it leaves only: its locks of another joined event stay"
        ) { c in
            let (left, kept) = (try await c.event(), try await c.event())
            let user = try await c.user(0)
            let watcher = try await c.subscriber(kept, as: try await c.user(1))
            let connection = c.live(user.token)
            for event in [left, kept] {
                connection.send(["type": "join_event", "eventId": event])
                _ = try await connection.next("the snapshot of \(event)") { $0.type == "snapshot" && $0.string("eventId") == event }
                connection.send(["type": "request_lock", "eventId": event, "seatId": "A1"])
                _ = try await connection.next("lock_acquired A1 of \(event)") { $0.type == "lock_acquired" && $0.string("eventId") == event }
            }
            connection.send(["type": "leave_event", "eventId": left])
            // The marker: the connection's next request is handled after the leave.
            connection.send(["type": "request_lock", "eventId": kept, "seatId": "A2"])
            _ = try await connection.next("lock_acquired A2, the marker after the leave") {
                $0.type == "lock_acquired" && $0.string("seatId") == "A2"
            }
            _ = try await watcher.next("seat_locked A2 of the kept event") { $0.type == "seat_locked" && $0.string("seatId") == "A2" }
            let released = watcher.changesAfterSnapshot.filter { $0.type == "seat_released" }
            try c.check(released.isEmpty, "leaving one event released the connection's lock in another: \(released.map(\.text))")
            let keptHolds = try await c.call(.GET, "/api/v1/events/\(kept)/holds", token: user.token).objects("holds").flatMap {
                $0.strings("seatIds")
            }
            try c.check(
                keptHolds.sorted() == ["A1", "A2"],
                "after leaving the other event the user's holds of the kept event cover \(keptHolds.sorted()), not A1, A2")
            let leftHolds = try await c.call(.GET, "/api/v1/events/\(left)/holds", token: user.token).objects("holds")
            try c.check(leftHolds.isEmpty, "after leave_event the connection's lock of the event it left is still held")
        },
    ]
}
