import Foundation

extension Catalogue {
    static let events: [ConformanceCase] = [
        ConformanceCase("events.create", "PB-EVENT-3", "an event is created with its grid: totalSeats, availableSeats, venueConfig") { c in
            let reply = try await c.call(.POST, "/api/v1/events", token: try c.admin(), json: [
                "title": "Shape", "venue": "Hall", "date": "2031-06-01T20:00:00Z", "description": "d", "venueConfig": ["rows": 3, "cols": 4, "price": 12.5],
            ])
            try c.expect(reply, 201)
            let event = reply.object("event")
            try c.check(event.int("totalSeats") == 12 && event.int("availableSeats") == 12, "totalSeats \(event["totalSeats"] ?? "-"), availableSeats \(event["availableSeats"] ?? "-")")
            try c.check(event.object("venueConfig").int("rows") == 3 && event.object("venueConfig").double("price") == 12.5, "venueConfig \(event.object("venueConfig"))")
            try c.check(event["isActive"] as? Bool == true, "isActive is \(event["isActive"] ?? "absent")")
        },
        ConformanceCase("events.create-validation", "PB-EVENT-3", "a venue beyond 26 rows or 50 columns is 400 validation_failed naming the field") { c in
            for (config, field) in [(["rows": 27, "cols": 5, "price": 1], "venueConfig.rows"), (["rows": 2, "cols": 51, "price": 1], "venueConfig.cols"),
                                    (["rows": 2, "cols": 5, "price": -1], "venueConfig.price"), (["rows": 2, "cols": 5, "price": 12.345], "venueConfig.price")] {
                let reply = try await c.call(.POST, "/api/v1/events", token: try c.admin(), json: ["title": "x", "venue": "y", "date": "2031-01-01T20:00:00Z", "venueConfig": config])
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
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user().token, json: ["seatIds": ["A1"]]), 409, "event_inactive")
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)/seats"), 200, nil, "seat map of an inactive event")
        },
        ConformanceCase("events.past", "PB-EVENT-8", "an event whose date has come refuses holds and checkouts (409 event_inactive) and still shows its seats") { c in
            let event = try await c.event()
            let buyer = try await c.user()
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A1"]]), 201, nil, "a hold before the date")
            try c.expect(try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["date": "2001-01-01T20:00:00Z"]), 200)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A2"]]), 409, "event_inactive")
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: buyer.token, json: ["seatIds": ["A1"]]), 409, "event_inactive")
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)/seats"), 200, nil, "seat map of a past event")
        },
        ConformanceCase("events.venue-immutable", "PB-EVENT-6", "a venueConfig in a PATCH is 400 venue_config_immutable") { c in
            let event = try await c.event()
            try c.expect(try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["venueConfig": ["rows": 5, "cols": 5, "price": 1]]),
                         400, "venue_config_immutable")
        },
        ConformanceCase("events.delete", "PB-EVENT-7", "a deleted event is gone (204, then 404) and its holds with it") { c in
            let event = try await c.event()
            _ = try await c.hold(event, ["A1"], as: try await c.user())
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: try c.admin()), 204)
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)"), 404, "event_not_found")
            try c.expect(try await c.call(.GET, "/api/v1/events/\(event)/seats"), 404, "event_not_found")
        },
        ConformanceCase("events.delete-broadcast", "PB-EVENT-7", "a deletion reaches every subscriber as one event_deleted at the next seq, its last message") { c in
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
            try c.check(seats.filter { $0.string("id") != "A2" }.allSatisfy { $0["lockedBy"] == nil && $0.string("status") == "available" }, "another seat is not plainly available")
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
    ]
}
