import Foundation
import NIOHTTP1
import PulseWire

extension Catalogue {
    static let events: [ConformanceCase] = [
        ConformanceCase("events.create", "PB-EVENT-3", "an event is created with its grid: totalSeats, availableSeats, venueConfig") { c in
            let reply = try await c.call(
                .POST, "/api/v1/events", token: try c.admin(),
                json: [
                    "title": "Shape", "venue": "Hall", "date": "2031-06-01T20:00:00Z", "description": "d",
                    "venueConfig": ["rows": 3, "cols": 4, "price": 12.5],
                ])
            try c.expect(reply, 201)
            let event = reply.object("event")
            try c.check(
                event.int("totalSeats") == 12 && event.int("availableSeats") == 12,
                "totalSeats \(event["totalSeats"] ?? "-"), availableSeats \(event["availableSeats"] ?? "-")")
            try c.check(
                event.object("venueConfig").int("rows") == 3 && event.object("venueConfig").double("price") == 12.5,
                "venueConfig \(event.object("venueConfig"))")
            try c.check(event["isActive"] as? Bool == true, "isActive is \(event["isActive"] ?? "absent")")
        },
        ConformanceCase("events.create-validation", "PB-EVENT-3", "a venue beyond 26 rows or 50 columns is 400 validation_failed naming the field") {
            c in
            for (config, field) in [
                (["rows": 27, "cols": 5, "price": 1], "venueConfig.rows"), (["rows": 2, "cols": 51, "price": 1], "venueConfig.cols"),
                (["rows": 2, "cols": 5, "price": -1], "venueConfig.price"), (["rows": 2, "cols": 5, "price": 12.345], "venueConfig.price"),
            ] {
                let reply = try await c.call(
                    .POST, "/api/v1/events", token: try c.admin(),
                    json: ["title": "x", "venue": "y", "date": "2031-01-01T20:00:00Z", "venueConfig": config])
                try c.expect(reply, 400, "validation_failed", field)
                try c.check(reply.json["field"] as? String == field, "field is \(reply.json["field"] ?? "absent"), not \(field)")
            }
        },
        ConformanceCase("events.list", "PB-EVENT-2", "a new active event is listed with its available seats") { c in
            let event = try await c.event(rows: 1, cols: 5)
            let events = try await c.call(.GET, "/api/v1/events").objects("events")
            try c.check(events.first { $0.string("id") == event }?.int("availableSeats") == 5, "the event is not listed with 5 available seats")
        },
        ConformanceCase("events.get", "PB-EVENT-4", "an event is read by id; an unknown id is 404 event_not_found") { c in
            let event = try await c.event()
            let reply = try await c.call(.GET, "/api/v1/events/\(event)")
            try c.expect(reply, 200)
            try c.check(reply.object("event").string("id") == event, "another event")
            try c.expect(try await c.call(.GET, "/api/v1/events/ffffffffffffffffffffffff"), 404, "event_not_found")
        },
        ConformanceCase("events.inactive", "PB-EVENT-5", "an inactive event refuses holds (409 event_inactive) and still shows its seats") { c in
            let event = try await c.event()
            try c.expect(try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["isActive": false]), 200)
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user().token, json: ["seatIds": ["A1"]]), 409,
                "event_inactive")
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)/seats"), 200, nil, "seat map of an inactive event")
        },
        ConformanceCase(
            "events.past", "PB-EVENT-8", "an event whose date has come refuses holds and checkouts (409 event_inactive) and still shows its seats"
        ) { c in
            let event = try await c.event()
            let buyer = try await c.user()
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A1"]]), 201, nil,
                "a hold before the date")
            try c.expect(try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["date": "2001-01-01T20:00:00Z"]), 200)
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A2"]]), 409, "event_inactive")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: buyer.token, json: ["seatIds": ["A1"]]), 409, "event_inactive")
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)/seats"), 200, nil, "seat map of a past event")
        },
        ConformanceCase("events.venue-immutable", "PB-EVENT-6", "a venueConfig in a PATCH is 400 venue_config_immutable") { c in
            let event = try await c.event()
            try c.expect(
                try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["venueConfig": ["rows": 5, "cols": 5, "price": 1]]),
                400, "venue_config_immutable")
        },
        ConformanceCase("events.delete", "PB-EVENT-7", "a deleted event is gone (204, then 404) and its holds with it") { c in
            let event = try await c.event()
            _ = try await c.hold(event, ["A1"], as: try await c.user())
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: try c.admin()), 204)
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)"), 404, "event_not_found")
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)/seats"), 404, "event_not_found")
        },
        ConformanceCase(
            "events.delete-broadcast", "PB-EVENT-7", "a deletion reaches every subscriber as one event_deleted at the next seq, its last message"
        ) { c in
            let event = try await c.event()
            let watchers = [try await c.subscriber(event, as: try await c.user(1)), try await c.subscriber(event, as: try await c.user(2))]
            _ = try await c.hold(event, ["A1", "A2"], as: try await c.user(0))
            var lastSeqs: [Int64] = []
            for watcher in watchers {
                let locks = try await watcher.waitUntil("both seat_locked") { $0.filter { $0.type == "seat_locked" }.count == 2 }
                lastSeqs.append(locks.compactMap(\.seq).max() ?? -1)
            }
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: try c.admin()), 204)
            for (watcher, lastSeq) in zip(watchers, lastSeqs) {
                let deleted = try await watcher.next("event_deleted") { $0.type == "event_deleted" || $0.type == "seat_released" }
                try c.check(deleted.type == "event_deleted", "the subscriber was sent \(deleted.text), not event_deleted")
                try c.check(deleted.seq == lastSeq + 1 && deleted.string("eventId") == event, "event_deleted is \(deleted.text) after seq \(lastSeq)")
            }
            let late = c.live(try await c.user(3).token)
            late.send(["type": "join_event", "eventId": event])
            let refused = try await late.next("an answer to joining a deleted event") { $0.type == "error" || $0.type == "snapshot" }
            try c.check(refused.type == "error" && refused.string("code") == "event_not_found", "joining the deleted event answered \(refused.text)")
        },
        ConformanceCase("seats.map", "PB-SEAT-2", "the seat map lists every seat in row-major order with the event's seq") { c in
            let event = try await c.event(rows: 2, cols: 3)
            let reply = try await c.call(.GET, "/api/v1/events/\(event)/seats")
            try c.expect(reply, 200)
            let data = reply.json["data"] as? [String: Any] ?? [:]
            let ids = data.objects("seats").compactMap { $0.string("id") }
            try c.check(ids == ["A1", "A2", "A3", "B1", "B2", "B3"], "seats \(ids)")
            try c.check(data["seq"] is NSNumber && data.string("eventId") == event, "no seq or eventId")
        },
        ConformanceCase("seats.locked-by", "PB-SEAT-1", "a held seat is locked with lockedBy; other seats have no lockedBy") { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A2"], as: user)
            let seats = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
            let held = seats.first { $0.string("id") == "A2" } ?? [:]
            try c.check(held.string("status") == "locked" && held.string("lockedBy") == user.id, "A2 is \(held)")
            try c.check(
                seats.filter { $0.string("id") != "A2" }.allSatisfy { $0["lockedBy"] == nil && $0.string("status") == "available" },
                "another seat is not plainly available")
        },
        ConformanceCase(
            "seats.map-current", "PB-SEAT-2", "a seat map asked for after a change was answered shows it (no cached or lagging copy)"
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            func status(_ seat: String) async throws -> String {
                let seats = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
                return seats.first { $0.string("id") == seat }?.string("status") ?? "absent"
            }
            try c.check(try await status("A1") == "available", "A1 is not available in a new event")
            let hold = try await c.hold(event, ["A1"], as: user)
            let held = try await status("A1")
            try c.check(held == "locked", "the map asked for after the hold's 201 shows A1 \(held)")
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)/holds/\(hold.string("id") ?? "")", token: user.token), 204)
            let released = try await status("A1")
            try c.check(released == "available", "the map asked for after the release's 204 shows A1 \(released)")
            _ = try await c.hold(event, ["A1"], as: user)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 201)
            let booked = try await status("A1")
            try c.check(booked == "booked", "the map asked for after the checkout's 201 shows A1 \(booked)")
        },
        ConformanceCase("seats.booked", "PB-SEAT-2", "a booked seat shows booked, and is not available in the event") { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["B3"], as: user)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["B3"]]), 201)
            let seats = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
            try c.check(seats.first { $0.string("id") == "B3" }?.string("status") == "booked", "B3 is not booked")
            try c.check(try await c.call(.GET, "/api/v1/events/\(event)").object("event").int("availableSeats") == 19, "availableSeats is not 19")
        },
        // Scope (issue 24.5): "in the same atomic step as dropping the holds", "from the moment of the 204".
        ConformanceCase(
            "events.delete-stalled-hold", "PB-EVENT-7",
            "a hold validated before the event's deletion and stalled until after it is 404 event_not_found; event_deleted stays the last message, at the next seq",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let (holder, late) = (try await c.user(0), try await c.user(1))
            let watcher = try await c.subscriber(event, as: try await c.user(2))
            _ = try await c.hold(event, ["A1"], as: holder)
            let locked = try await watcher.next("seat_locked A1") { $0.type == "seat_locked" && $0.string("seatId") == "A1" }
            // The hold is checked at once, then stalls 2 s before its hot-store step (PB-TEST-5); the
            // DELETE comes meanwhile. Whatever the timing, a 201 must be of a hold granted before the
            // deletion: its seat_locked then precedes event_deleted in the stream.
            async let stalled = c.call(
                .POST, "/api/v1/events/\(event)/holds", token: late.token, json: ["seatIds": ["A2"]],
                headers: [("Pulse-Test-Stall", "before=2000")])
            try await Task.sleep(for: .milliseconds(500))
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: try c.admin()), 204, nil, "the deletion while a hold is stalled")
            let answer = try await stalled
            let deleted = try await watcher.next("event_deleted") { $0.type == "event_deleted" }
            let stream = watcher.changesAfterSnapshot
            if answer.status == 201 {
                if stream.contains(where: { $0.type == "seat_locked" && $0.string("seatId") == "A2" && ($0.seq ?? .max) < (deleted.seq ?? .min) }) {
                    throw CaseInconclusive(
                        "the stalled hold reached its hot-store step before the DELETE did (its seat_locked came before event_deleted)")
                }
                throw CaseFailure(
                    "the hold stalled across the deletion answered 201 after the DELETE's 204, with no seat_locked A2 before event_deleted: a hold of a deleted event"
                )
            }
            try c.expect(answer, 404, "event_not_found", "the hold stalled before its hot-store step while the event was deleted")
            try c.check(
                deleted.seq == (locked.seq ?? -2) + 1 && deleted.string("eventId") == event,
                "event_deleted is \(deleted.text), not the change after seat_locked A1 at seq \(locked.seq.map(String.init) ?? "none")")
            try c.check(
                stream.last?.type == "event_deleted",
                "after event_deleted the subscriber heard \(stream.drop { $0.type != "event_deleted" }.dropFirst().map(\.text))")
        },
        // Scope: the event disappears "from every route"; "its confirmed bookings stay".
        ConformanceCase(
            "events.delete-every-route", "PB-EVENT-7",
            "a deleted event leaves the list, and every route with its id is 404 event_not_found (read, PATCH, DELETE again, hold, checkout); its bookings stay confirmed"
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            let booking = try await c.book(event, ["A1"], as: user).booking.string("id") ?? ""
            _ = try await c.hold(event, ["A2"], as: user)
            let admin = try c.admin()
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: admin), 204, nil, "the deletion")
            let listed = try await c.call(.GET, "/api/v1/events")
            try c.expect(listed, 200, nil, "the events list")
            try c.check(!listed.objects("events").contains { c.documentID($0) == event }, "GET /events still lists the deleted event")
            let path = "/api/v1/events/\(event)"
            let routes: [(HTTPMethod, String, String?, [String: Any]?, String)] = [
                (.GET, path, nil, nil, "GET of the deleted event"),
                (.PATCH, path, admin, ["title": "Revived"], "a PATCH of the deleted event"),
                (.DELETE, path, admin, nil, "a second DELETE of the event"),
                (.POST, path + "/holds", user.token, ["seatIds": ["A3"]], "a hold in the deleted event"),
                (.POST, path + "/seats", user.token, ["seatIds": ["A2"]], "a checkout of a seat held before the deletion"),
            ]
            for (method, route, token, json, what) in routes {
                try c.expect(try await c.call(method, route, token: token, json: json), 404, "event_not_found", what)
            }
            let kept = try await c.listedBooking(booking, of: user)
            try c.check(
                kept.string("status") == "confirmed",
                "after the deletion the event's booking is \(kept["status"] ?? "without a status") in bookings/me, not confirmed")
        },
        // Scope: an inactive event refuses holds (REST and request_lock alike); "its seat map and live stream remain readable".
        ConformanceCase(
            "events.inactive-live", "PB-EVENT-5",
            "an inactive event's live stream stays readable (join_event gets a snapshot) and request_lock is lock_failed event_inactive"
        ) { c in
            let event = try await c.event()
            try c.expect(
                try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["isActive": false]), 200, nil,
                "deactivating the event")
            try await c.closedEventLive(event, as: try await c.user(), "an inactive event")
        },
        // Scope: "takes no more holds (REST or request_lock)"; "its seat map, live stream and bookings stay readable".
        ConformanceCase(
            "events.past-live", "PB-EVENT-8",
            "an event whose date has come: join_event still gets a snapshot, request_lock is lock_failed event_inactive"
        ) { c in
            let event = try await c.event()
            try c.expect(
                try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["date": "2001-01-01T20:00:00Z"]), 200, nil,
                "moving the event's date into the past")
            try await c.closedEventLive(event, as: try await c.user(), "an event whose date has come")
        },
        // Scope: "at most 10 seats per event".
        ConformanceCase(
            "holds.cap-per-event", "PB-HOLD-5", "the cap counts held seats per event: a user at the cap in one event still holds seats of another"
        ) { c in
            let (full, other) = (try await c.event(rows: 3, cols: 10), try await c.event())
            let user = try await c.user()
            let cap = min(c.session.heldSeatsMax ?? 10, 29)
            var held = 0
            while held < cap {
                let seats = (held..<min(cap, held + 10)).map { "\(["A", "B", "C"][$0 / 10])\($0 % 10 + 1)" }
                _ = try await c.hold(full, seats, as: user)
                held += seats.count
            }
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(other)/holds", token: user.token, json: ["seatIds": ["A1", "A2"]]), 201, nil,
                "a hold in another event by a user holding \(cap) seats (the cap) of the first")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(full)/holds", token: user.token, json: ["seatIds": ["C10"]]), 409, "hold_limit_exceeded",
                "one more seat of the first event")
        },
    ]
}

extension CaseContext {
    /// Checks an event closed for booking (inactive, or its date come; PB-EVENT-5, PB-EVENT-8): a
    /// join gets a snapshot (the live stream stays readable), a `request_lock` a `lock_failed`
    /// `event_inactive` (PB-LIVE-9).
    func closedEventLive(_ event: String, as user: TestUser, _ what: String) async throws {
        let connection = live(user.token)
        connection.send(["type": "join_event", "eventId": event])
        let joined = try await connection.next("the answer to joining \(what)") { $0.type == "snapshot" || $0.type == "error" }
        try check(joined.type == "snapshot" && joined.string("eventId") == event, "joining \(what) answered \(joined.text), not its snapshot")
        connection.send(["type": "request_lock", "eventId": event, "seatId": "A1"])
        let locked = try await connection.next("the answer to request_lock on \(what)") {
            ["lock_failed", "lock_acquired", "error"].contains($0.type ?? "")
        }
        try check(
            locked.type == "lock_failed" && locked.string("code") == "event_inactive",
            "request_lock on \(what) answered \(locked.text), not lock_failed event_inactive")
    }
}
