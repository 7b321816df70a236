import Foundation
import PulseWire

/// Cancellation (SPEC.md §8, PB-CHECKOUT-8 to PB-CHECKOUT-11): who may cancel, what the answer
/// says, that a second cancel changes nothing, that the seats are on sale again at once (one
/// `seats_released` at the next seq), and what a cancelled booking still is.
extension Catalogue {
    static let cancel: [ConformanceCase] = [
        ConformanceCase(
            "cancel.owner", "PB-CHECKOUT-8",
            "the owner's cancel (no body) answers 200 with the booking cancelled: same id, seats and amount, cancelledAt with milliseconds"
        ) { c in
            let event = try await c.event(price: 25)
            let user = try await c.user()
            let booking = try await c.book(event, ["A1", "A2"], as: user).booking
            let id = booking.string("id") ?? ""
            let cancelled = try await c.cancelled(id, token: user.token)
            try c.check(cancelled.string("status") == "cancelled", "the cancel answered status \(cancelled["status"] ?? "absent"), not cancelled")
            try c.check(
                isMillisecondInstant(cancelled.string("cancelledAt")),
                "cancelledAt \(cancelled["cancelledAt"] ?? "absent") is not an instant of the form 2027-05-01T19:30:00.000Z")
            try c.check(
                cancelled.string("id") == id && Set(cancelled.strings("seatIds")) == ["A1", "A2"] && cancelled.double("totalAmount") == 50
                    && cancelled.string("eventId") == event && cancelled.string("userId") == user.id,
                "the cancel answered \(cancelled), not the caller's booking \(id) of A1, A2 for 50")
            try c.check(
                cancelled["cancellationReason"] == nil || cancelled["cancellationReason"] is NSNull,
                "a cancel without a reason answered cancellationReason \(cancelled["cancellationReason"] ?? "")")
        },
        ConformanceCase("cancel.reason", "PB-CHECKOUT-8", "a cancel's reason is answered as cancellationReason, exactly as given") { c in
            let event = try await c.event()
            let user = try await c.user()
            let id = try await c.book(event, ["A1"], as: user).booking.string("id") ?? ""
            let reason = "Plans changed – can’t come"
            let cancelled = try await c.cancelled(id, token: user.token, json: ["reason": reason], "the owner's cancel with a reason")
            try c.check(cancelled.string("status") == "cancelled", "the cancel answered status \(cancelled["status"] ?? "absent"), not cancelled")
            try c.check(
                cancelled.string("cancellationReason") == reason,
                "the reason \"\(reason)\" came back as cancellationReason \(cancelled["cancellationReason"] ?? "absent")")
        },
        ConformanceCase(
            "cancel.not-yours", "PB-CHECKOUT-8", "another user's cancel is 404 booking_not_found; the booking stays confirmed, its seats booked"
        ) { c in
            let event = try await c.event()
            let (owner, other) = (try await c.user(0), try await c.user(1))
            let id = try await c.book(event, ["A1"], as: owner).booking.string("id") ?? ""
            try c.expect(try await c.cancelBooking(id, token: other.token), 404, "booking_not_found", "another user's cancel of the booking")
            let listed = try await c.listedBooking(id, of: owner)
            try c.check(
                listed.string("status") == "confirmed",
                "after another user's refused cancel the owner's bookings/me shows the booking \(listed["status"] ?? "without a status"), not confirmed"
            )
            let seat = try await c.seatStatuses(event).status["A1"]
            try c.check(seat == "booked", "after another user's refused cancel A1 is \(seat ?? "absent") in the seat map, not booked")
        },
        ConformanceCase(
            "cancel.unknown-id", "PB-CHECKOUT-8",
            "a cancel of an unknown booking id is 404 booking_not_found, of a malformed id 400 invalid_id, without a token 401", needs: []
        ) { c in
            let user = try await c.user()
            try c.expect(
                try await c.cancelBooking("ffffffffffffffffffffffff", token: user.token), 404, "booking_not_found",
                "a cancel of an unknown booking id")
            try c.expect(try await c.cancelBooking("not-a-booking-id", token: user.token), 400, "invalid_id", "a cancel of a malformed booking id")
            try c.expect(
                try await c.call(.POST, "/api/v1/bookings/ffffffffffffffffffffffff/cancel"), 401, "unauthenticated", "a cancel without a token")
        },
        ConformanceCase("cancel.by-admin", "PB-CHECKOUT-8", "an admin cancels a user's booking (200), and the user's bookings/me shows it cancelled")
        { c in
            let event = try await c.event()
            let user = try await c.user()
            let id = try await c.book(event, ["A1"], as: user).booking.string("id") ?? ""
            let cancelled = try await c.cancelled(id, token: try c.admin(), json: [:], "the admin's cancel of a user's booking")
            try c.check(
                cancelled.string("status") == "cancelled" && cancelled.string("id") == id && cancelled.string("userId") == user.id,
                "the admin's cancel answered \(cancelled), not the user's booking \(id) cancelled")
            let listed = try await c.listedBooking(id, of: user)
            try c.check(
                listed.string("status") == "cancelled",
                "after the admin's cancel the user's bookings/me shows the booking \(listed["status"] ?? "without a status")")
        },
        ConformanceCase(
            "cancel.bad-body", "PB-CHECKOUT-8",
            "a reason that is not a string, empty or over 500 characters is 400 validation_failed naming reason; an array body is 400 malformed_json"
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            let id = try await c.book(event, ["A1"], as: user).booking.string("id") ?? ""
            for (reason, what) in [
                (42, "a reason that is a number"), ("", "an empty reason"),
                (String(repeating: "x", count: 501), "a reason of 501 characters"),
            ] as [(Any, String)] {
                let reply = try await c.cancelBooking(id, token: user.token, json: ["reason": reason])
                try c.expect(reply, 400, "validation_failed", what)
                try c.check(reply.json["field"] as? String == "reason", "\(what): field is \(reply.json["field"] ?? "absent"), not reason")
            }
            try c.expect(
                try await c.call(.POST, "/api/v1/bookings/\(id)/cancel", token: user.token, raw: #"["changed my mind"]"#), 400, "malformed_json",
                "a cancel whose body is a JSON array")
            let listed = try await c.listedBooking(id, of: user)
            try c.check(
                listed.string("status") == "confirmed",
                "after the refused cancels the booking is \(listed["status"] ?? "without a status"), not confirmed")
            let longest = String(repeating: "x", count: 500)
            let cancelled = try await c.cancelled(id, token: user.token, json: ["reason": longest], "a cancel with a reason of 500 characters")
            try c.check(
                cancelled.string("cancellationReason") == longest,
                "a reason of 500 characters came back as \(cancelled.string("cancellationReason").map { "\($0.count) characters" } ?? "nothing")")
        },
        ConformanceCase("cancel.gone-event", "PB-CHECKOUT-8", "a booking of an inactive event, and one of a deleted event, can be cancelled (200)") {
            c in
            let event = try await c.event()
            let user = try await c.user()
            let first = try await c.book(event, ["A1"], as: user).booking.string("id") ?? ""
            let second = try await c.book(event, ["A2"], as: user).booking.string("id") ?? ""
            try c.expect(
                try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["isActive": false]), 200, nil,
                "deactivating the event")
            let inactive = try await c.cancelled(first, token: user.token, "the cancel of a booking of an inactive event")
            try c.check(
                inactive.string("status") == "cancelled",
                "the cancel of a booking of an inactive event answered status \(inactive["status"] ?? "absent")")
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(event)", token: try c.admin()), 204, nil, "deleting the event")
            let deleted = try await c.cancelled(second, token: user.token, "the cancel of a booking of a deleted event")
            try c.check(
                deleted.string("status") == "cancelled", "the cancel of a booking of a deleted event answered status \(deleted["status"] ?? "absent")"
            )
        },
        ConformanceCase(
            "cancel.twice", "PB-CHECKOUT-9",
            "a second cancel answers 200 with the first cancel's cancelledAt and reason, and broadcasts nothing"
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let id = try await c.book(event, ["A1", "A2"], as: user).booking.string("id") ?? ""
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let first = try await c.cancelled(id, token: user.token, json: ["reason": "the first reason"], "the first cancel")
            let again = try await c.cancelled(id, token: user.token, json: ["reason": "a second reason"], "the second cancel of the same booking")
            try c.check(again.string("status") == "cancelled" && again.string("id") == id, "the second cancel answered \(again)")
            try c.check(
                first.string("cancelledAt") != nil && again.string("cancelledAt") == first.string("cancelledAt"),
                "the second cancel answered cancelledAt \(again["cancelledAt"] ?? "absent"), the first \(first["cancelledAt"] ?? "absent")")
            try c.check(
                again.string("cancellationReason") == "the first reason",
                "the second cancel answered cancellationReason \(again["cancellationReason"] ?? "absent"), not the first cancel's \"the first reason\""
            )
            let released = try await watcher.next("seats_released of the first cancel") { $0.type == "seats_released" }
            // Any broadcast of the second cancel would come before the marker: a hold after a pause.
            try await Task.sleep(for: .milliseconds(300))
            _ = try await c.hold(event, ["B1"], as: user)
            _ = try await watcher.next("seat_locked B1, the marker after the two cancels") { $0.type == "seat_locked" && $0.string("seatId") == "B1" }
            let changes = watcher.changesAfterSnapshot
            let releases = changes.filter { $0.type == "seats_released" }
            try c.check(releases.count == 1, "\(releases.count) seats_released for two cancels of one booking: \(releases.map(\.text))")
            let following = changes.drop { $0.type != "seats_released" }.dropFirst().first
            let nextSeq = (released.seq ?? -2) + 1
            try c.check(
                following?.type == "seat_locked" && following?.string("seatId") == "B1" && following?.seq == nextSeq,
                "after seats_released at seq \(released.seq.map(String.init) ?? "none") came \(following?.text ?? "nothing"), not seat_locked B1 at the next seq"
            )
            let mine = try await c.bookings(of: user, in: event)
            try c.check(mine.count == 1, "bookings/me lists \(mine.count) bookings of the event after two cancels of one booking, not 1")
        },
        ConformanceCase(
            "cancel.twice-after-resale", "PB-CHECKOUT-9",
            "a second cancel after the seats were sold again changes nothing: the new buyer's seats stay booked and nothing is broadcast"
        ) { c in
            let event = try await c.event()
            let (first, second, third) = (try await c.user(0), try await c.user(1), try await c.user(2))
            let id = try await c.book(event, ["A1", "A2"], as: first).booking.string("id") ?? ""
            _ = try await c.cancelled(id, token: first.token, "the first cancel")
            _ = try await c.book(event, ["A1", "A2"], as: second)
            let watcher = try await c.subscriber(event, as: third)
            let again = try await c.cancelled(id, token: first.token, "the second cancel, after the seats were sold again")
            try c.check(again.string("status") == "cancelled" && again.string("id") == id, "the second cancel answered \(again)")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: third.token, json: ["seatIds": ["A1"]]), 409, "seat_unavailable",
                "a hold of a re-sold seat after the second cancel of its first booking")
            let seats = try await c.seatStatuses(event).status
            try c.check(
                seats["A1"] == "booked" && seats["A2"] == "booked",
                "after the second cancel the re-sold A1, A2 are \(seats["A1"] ?? "absent"), \(seats["A2"] ?? "absent") in the seat map, not booked")
            // Any broadcast of the second cancel would come before the marker: a hold after a pause.
            try await Task.sleep(for: .milliseconds(300))
            _ = try await c.hold(event, ["B1"], as: third)
            _ = try await watcher.next("seat_locked B1, the marker after the second cancel") {
                $0.type == "seat_locked" && $0.string("seatId") == "B1"
            }
            let changes = watcher.changesAfterSnapshot
            try c.check(changes.count == 1, "after the second cancel the subscriber heard \(changes.map(\.text)), not only the marker seat_locked B1")
        },
        ConformanceCase(
            "cancel.broadcast", "PB-CHECKOUT-10",
            "a subscriber hears the cancel as one seats_released (the booking's seats, reason cancelled) at the seq after seats_booked"
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let id = try await c.book(event, ["A1", "B2"], as: user).booking.string("id") ?? ""
            let booked = try await watcher.next("seats_booked") { $0.type == "seats_booked" }
            _ = try await c.cancelled(id, token: user.token)
            let released = try await watcher.next("seats_released after the cancel") { $0.type == "seats_released" }
            try c.check(released.string("reason") == "cancelled", "seats_released has reason \(released.string("reason") ?? "none"), not cancelled")
            try c.check(released.seatSet == ["A1", "B2"], "seats_released names \(released.seatSet.sorted()), not the booking's A1, B2")
            try c.check(released.string("eventId") == event, "seats_released has eventId \(released.string("eventId") ?? "none"), not \(event)")
            let nextSeq = (booked.seq ?? -2) + 1
            try c.check(
                released.seq == nextSeq,
                "seats_released has seq \(released.seq.map(String.init) ?? "none"), seats_booked had \(booked.seq.map(String.init) ?? "none"): not the next seq"
            )
            try await Task.sleep(for: .milliseconds(300))
            let after = watcher.changesAfterSnapshot.drop { $0.type != "seats_booked" }.dropFirst()
            try c.check(after.count == 1, "the cancel was broadcast as \(after.map(\.text)), not one seats_released")
        },
        ConformanceCase(
            "cancel.seats-free", "PB-CHECKOUT-10",
            "booked seats are refused to others until the cancel; right after its 200 another user holds and books them (201)"
        ) { c in
            let event = try await c.event()
            let (owner, buyer) = (try await c.user(0), try await c.user(1))
            let id = try await c.book(event, ["A1", "A2"], as: owner).booking.string("id") ?? ""
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A1", "A2"]]), 409,
                "seat_unavailable",
                "another user's hold of the booked seats before the cancel")
            _ = try await c.cancelled(id, token: owner.token)
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A1", "A2"]]), 201, nil,
                "another user's hold of the seats right after the cancel's 200")
            let resold = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: buyer.token, json: ["seatIds": ["A1", "A2"]])
            try c.expect(resold, 201, nil, "another user's checkout of the cancelled booking's seats")
            let booking = resold.object("booking")
            try c.check(
                booking.string("status") == "confirmed" && booking.string("id") != id && booking.string("userId") == buyer.id,
                "the re-sale answered \(booking), not a new confirmed booking of the buyer")
        },
        ConformanceCase(
            "cancel.booked-until-step", "PB-CHECKOUT-10",
            "while a cancel is stalled before its atomic step its seats stay booked: another user's hold is 409 seat_unavailable",
            needs: [.admin, .testControl]
        ) { c in
            // The cancel stalls 2 s before its atomic step, counted from when it reaches the server
            // (no earlier than it was sent). A rival's hold answered 201 within 2 s of the cancel's
            // sending took the seat while it was surely still booked: FAILED. One answered later
            // may have come after the step (a slow machine): the round runs again.
            let stallMs = 2_000
            try await c.inRounds(1, atMost: 3) { _ in
                let event = try await c.event()
                let (owner, buyer) = (try await c.user(0), try await c.user(1))
                let id = try await c.book(event, ["A1"], as: owner).booking.string("id") ?? ""
                let sent = ContinuousClock.now
                async let stalled = c.call(
                    .POST, "/api/v1/bookings/\(id)/cancel", token: owner.token, headers: [("Pulse-Test-Stall", "before=\(stallMs)")])
                try await Task.sleep(for: .milliseconds(300))
                let rival = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A1"]])
                let rivalAnswered = ContinuousClock.now
                try c.expect(try await stalled, 200, nil, "the stalled cancel")
                if rival.status == 201 && rivalAnswered - sent >= .milliseconds(stallMs) {
                    return .undecided("the rival's hold was answered after the cancel's stall could have ended")
                }
                try c.expect(rival, 409, "seat_unavailable", "another user's hold of the seat while the cancel is stalled before its atomic step")
                try c.expect(
                    try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A1"]]), 201, nil,
                    "another user's hold of the seat after the cancel's 200")
                return .clean("the rival was refused while the cancel stalled, and held the seat after its 200")
            }
        },
        ConformanceCase(
            "cancel.free-at-step", "PB-CHECKOUT-10",
            "once seats_released is broadcast the seats are on sale, also while the cancel is stalled after its atomic step, before its 200",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let (owner, buyer) = (try await c.user(0), try await c.user(1))
            let id = try await c.book(event, ["A1", "A2"], as: owner).booking.string("id") ?? ""
            let watcher = try await c.subscriber(event, as: try await c.user(2))
            async let stalled = c.call(.POST, "/api/v1/bookings/\(id)/cancel", token: owner.token, headers: [("Pulse-Test-Stall", "hot=1500")])
            _ = try await watcher.next("seats_released of the stalled cancel") { $0.type == "seats_released" }
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["A1", "A2"]]), 201, nil,
                "another user's hold of the seats once seats_released was broadcast (the cancel stalled before its 200)")
            try c.expect(try await stalled, 200, nil, "the stalled cancel")
        },
        ConformanceCase(
            "cancel.seat-map", "PB-CHECKOUT-10",
            "the seat map read after the cancel's 200 is at or after the seats_released's seq and shows the seats available"
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            let id = try await c.book(event, ["B1", "B2"], as: user).booking.string("id") ?? ""
            let watcher = try await c.subscriber(event, as: try await c.user(1))
            let before = try await c.seatStatuses(event).status
            try c.check(
                before["B1"] == "booked" && before["B2"] == "booked",
                "before the cancel B1, B2 are \(before["B1"] ?? "absent"), \(before["B2"] ?? "absent"), not booked")
            _ = try await c.cancelled(id, token: user.token)
            let after = try await c.seatStatuses(event)
            let released = try await watcher.next("seats_released after the cancel") { $0.type == "seats_released" }
            try c.check(
                (after.seq ?? -1) >= (released.seq ?? Int64.max),
                "the seat map read after the cancel's 200 has seq \(after.seq.map(String.init) ?? "none"), before the seats_released's \(released.seq.map(String.init) ?? "none")"
            )
            try c.check(
                after.status["B1"] == "available" && after.status["B2"] == "available",
                "the seat map read after the cancel's 200 shows B1 \(after.status["B1"] ?? "absent"), B2 \(after.status["B2"] ?? "absent"), not available"
            )
        },
        ConformanceCase(
            "cancel.replay", "PB-CHECKOUT-10", "a join_event with a sinceSeq from before the cancel replays its seats_released, then joined"
        ) { c in
            let event = try await c.event()
            let (user, watcher) = (try await c.user(0), try await c.user(1))
            let id = try await c.book(event, ["A3", "A4"], as: user).booking.string("id") ?? ""
            let first = try await c.subscriber(event, as: watcher)
            let since = first.messages.first { $0.type == "snapshot" }?.seq ?? 0
            first.close()
            _ = try await c.cancelled(id, token: user.token)
            let again = c.live(watcher.token)
            again.send(["type": "join_event", "eventId": event, "sinceSeq": since])
            let seen = try await again.waitUntil("the answer to a join with sinceSeq \(since)") {
                $0.contains { $0.type == "joined" || $0.type == "snapshot" }
            }
            let answer = try c.require(seen.first { $0.type == "joined" || $0.type == "snapshot" }, "no joined or snapshot")
            try c.check(
                answer.type == "joined",
                "a join with sinceSeq \(since), one change back, got a \(answer.type ?? "message without a type"), not the replay and joined")
            let replayed = Array(seen.prefix { $0.type != "joined" && $0.type != "snapshot" })
            let wrong =
                "after sinceSeq \(since) the join replayed \(replayed.map(\.text)), not one seats_released of A3, A4 (reason cancelled) at seq \(since + 1)"
            try c.check(replayed.count == 1, wrong)
            try c.check(replayed[0].type == "seats_released" && replayed[0].seq == since + 1, wrong)
            try c.check(replayed[0].string("reason") == "cancelled" && replayed[0].seatSet == ["A3", "A4"], wrong)
            try c.check(answer.seq == since + 1, "joined carries seq \(answer.seq.map(String.init) ?? "none"), not \(since + 1)")
        },
        ConformanceCase(
            "cancel.listed", "PB-CHECKOUT-11",
            "a cancelled booking keeps its id, seats, amount and createdAt in bookings/me with status cancelled; availableSeats counts its seats again"
        ) { c in
            let event = try await c.event(rows: 2, cols: 10, price: 10)
            let user = try await c.user()
            let before = try await c.availableSeats(event)
            let booking = try await c.book(event, ["A1", "A2", "A3"], as: user).booking
            let id = booking.string("id") ?? ""
            let during = try await c.availableSeats(event)
            try c.check(
                before == 20 && during == 17,
                "availableSeats is \(before.map(String.init) ?? "absent") before the booking of 3 of 20 seats, \(during.map(String.init) ?? "absent") after it"
            )
            let cancelled = try await c.cancelled(id, token: user.token)
            let listed = try await c.bookings(of: user, in: event)
            try c.check(listed.count == 1, "bookings/me lists \(listed.count) bookings of the event after the cancel, not the one cancelled booking")
            let shown = listed[0]
            try c.check(shown.string("id") == id && shown.string("status") == "cancelled", "bookings/me lists \(shown), not booking \(id) cancelled")
            try c.check(
                Set(shown.strings("seatIds")) == ["A1", "A2", "A3"] && shown.double("totalAmount") == 30
                    && shown.string("createdAt") == booking.string("createdAt"),
                "the cancelled booking lost its seats, amount or createdAt: \(shown), booked as \(booking)")
            try c.check(
                shown.string("cancelledAt") == cancelled.string("cancelledAt"),
                "bookings/me shows cancelledAt \(shown["cancelledAt"] ?? "absent"), the cancel answered \(cancelled["cancelledAt"] ?? "absent")")
            let after = try await c.availableSeats(event)
            try c.check(
                after == before,
                "availableSeats is \(after.map(String.init) ?? "absent") after the cancel, not \(before.map(String.init) ?? "absent") as before the booking"
            )
        },
        ConformanceCase(
            "cancel.resale", "PB-CHECKOUT-11",
            "the seats of a cancelled booking are sold again; the re-sale's hold has a fence above the first sale's; the cancelled booking stays cancelled"
        ) { c in
            let event = try await c.event()
            let (first, second) = (try await c.user(0), try await c.user(1))
            let (booking, hold) = try await c.book(event, ["A1", "A2"], as: first)
            let id = booking.string("id") ?? ""
            _ = try await c.cancelled(id, token: first.token)
            let again = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: second.token, json: ["seatIds": ["A1", "A2"]])
            try c.expect(again, 201, nil, "the re-sale's hold of the cancelled seats")
            let resold = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: second.token, json: ["seatIds": ["A1", "A2"]])
            try c.expect(resold, 201, nil, "the re-sale's checkout")
            let (oldFence, newFence) = ((hold["fence"] as? NSNumber)?.int64Value, (again.object("hold")["fence"] as? NSNumber)?.int64Value)
            try c.check(
                (newFence ?? Int64.min) > (oldFence ?? Int64.max),
                "the re-sale's hold has fence \(newFence.map(String.init) ?? "none"), not above the first sale's \(oldFence.map(String.init) ?? "none")"
            )
            try c.check(
                resold.object("booking").string("status") == "confirmed" && resold.object("booking").string("id") != id,
                "the re-sale answered \(resold.object("booking")), not a new confirmed booking")
            let listed = try await c.listedBooking(id, of: first)
            try c.check(
                listed.string("status") == "cancelled",
                "after the re-sale the first buyer's booking is \(listed["status"] ?? "without a status"), not cancelled")
        },
        ConformanceCase(
            "cancel.cutoff", "PB-CHECKOUT-12",
            "once the event's date has come its owner's cancel is 409 cancellation_closed and changes nothing; an admin's cancel is 200"
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            let id = try await c.book(event, ["A1"], as: user).booking.string("id") ?? ""
            try c.expect(
                try await c.call(.PATCH, "/api/v1/events/\(event)", token: try c.admin(), json: ["date": "2001-01-01T20:00:00Z"]), 200, nil,
                "moving the event's date into the past")
            try c.expect(try await c.cancelBooking(id, token: user.token), 409, "cancellation_closed", "the owner's cancel after the event's date")
            let listed = try await c.listedBooking(id, of: user)
            try c.check(
                listed.string("status") == "confirmed",
                "after the refused cancel the booking is \(listed["status"] ?? "without a status"), not confirmed")
            let cancelled = try await c.cancelled(id, token: try c.admin(), json: [:], "the admin's cancel after the event's date")
            try c.check(
                cancelled.string("status") == "cancelled",
                "the admin's cancel after the event's date answered status \(cancelled["status"] ?? "absent")")
        },
        ConformanceCase(
            "cancel.key-replay", "PB-CHECKOUT-11",
            "a checkout retried with its Idempotency-Key after the cancel answers 201 with the cancelled booking and books nothing"
        ) { c in
            let event = try await c.event()
            let (first, second) = (try await c.user(0), try await c.user(1))
            let key = ("Idempotency-Key", c.unique("key"))
            let id = try await c.book(event, ["A1"], as: first, headers: [key]).booking.string("id") ?? ""
            _ = try await c.cancelled(id, token: first.token)
            let resale = try await c.book(event, ["A1"], as: second).booking.string("id") ?? ""
            let retry = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: first.token, json: ["seatIds": ["A1"]], headers: [key])
            try c.expect(retry, 201, nil, "the checkout retried with its Idempotency-Key after the cancel")
            let replayed = retry.object("booking")
            try c.check(
                replayed.string("id") == id && replayed.string("status") == "cancelled",
                "the retry answered booking \(replayed.string("id") ?? "-") \(replayed.string("status") ?? "-"), not the cancelled booking \(id)")
            try c.check(retry.headers.first(name: "Idempotent-Replayed") == "true", "the retry has no Idempotent-Replayed: true")
            let mine = try await c.bookings(of: first, in: event)
            try c.check(mine.count == 1, "the first buyer has \(mine.count) bookings of the event after the retry, not the one cancelled")
            let theirs = try await c.listedBooking(resale, of: second)
            try c.check(
                theirs.string("status") == "confirmed",
                "after the retry the re-sale's booking is \(theirs["status"] ?? "without a status"), not confirmed")
            let seat = try await c.seatStatuses(event).status["A1"]
            try c.check(seat == "booked", "after the retry A1 is \(seat ?? "absent") in the seat map, not booked")
        },
        // Scope (issue 24.5): a cancel frees "the booking's seats", no others of the event.
        ConformanceCase(
            "cancel.only-its-seats", "PB-CHECKOUT-10",
            "a cancel frees and announces its booking's seats only: the owner's other booking, another user's booking and the owner's hold of the event stay as they were"
        ) { c in
            let event = try await c.event()
            let (owner, other, buyer) = (try await c.user(0), try await c.user(1), try await c.user(2))
            let first = try await c.book(event, ["A1", "A2"], as: owner).booking.string("id") ?? ""
            let second = try await c.book(event, ["B1"], as: owner).booking.string("id") ?? ""
            _ = try await c.book(event, ["A3"], as: other)
            let held = try await c.hold(event, ["B2"], as: owner)
            let watcher = try await c.subscriber(event, as: buyer)
            _ = try await c.cancelled(first, token: owner.token, "the cancel of the owner's booking of A1, A2")
            let released = try await watcher.next("seats_released of the cancel") { $0.type == "seats_released" }
            try c.check(
                released.seatSet == ["A1", "A2"],
                "the cancel of the booking of A1, A2 was announced as seats_released of \(released.seatSet.sorted()), not of A1, A2 alone")
            // Every change of the cancel comes before the marker, a hold made after its 200.
            _ = try await c.hold(event, ["A1"], as: buyer)
            _ = try await watcher.next("seat_locked A1, the marker after the cancel") { $0.type == "seat_locked" && $0.string("seatId") == "A1" }
            let changes = watcher.changesAfterSnapshot
            try c.check(
                changes.count == 2 && changes[0].type == "seats_released" && changes[1].seq == (changes[0].seq ?? -2) + 1,
                "from the cancel to the marker the subscriber heard \(changes.map(\.text)), not one seats_released then seat_locked A1 at the next seq"
            )
            let refused = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: buyer.token, json: ["seatIds": ["B1", "A3", "B2"]])
            try c.expect(
                refused, 409, "seat_unavailable",
                "a hold of B1 (the owner's other booking), A3 (another user's booking) and B2 (the owner's hold) after the cancel")
            let named = Set(refused.json["seatIds"] as? [String] ?? [])
            try c.check(named == ["B1", "A3", "B2"], "the refused hold names \(named.sorted()) as unavailable, not B1, A3, B2")
            let seats = try await c.seatStatuses(event).status
            let shown = ["A2", "B1", "A3", "B2"].map { "\($0) \(seats[$0] ?? "absent")" }.joined(separator: ", ")
            try c.check(
                seats["A2"] == "available" && seats["B1"] == "booked" && seats["A3"] == "booked" && seats["B2"] == "locked",
                "after the cancel the seat map shows \(shown), not A2 available, B1 and A3 booked, B2 locked")
            let kept = try await c.listedBooking(second, of: owner)
            try c.check(
                kept.string("status") == "confirmed",
                "after the cancel of another booking the owner's booking of B1 is \(kept["status"] ?? "without a status"), not confirmed")
            let holds = try await c.call(.GET, "/api/v1/events/\(event)/holds", token: owner.token).objects("holds").compactMap { $0.string("id") }
            try c.check(holds == [held.string("id") ?? "-"], "after the cancel the owner's holds of the event are \(holds), not the hold of B2")
        },
        // Scope: the cut-off closes *confirmed* bookings of events that are still there.
        ConformanceCase(
            "cancel.cutoff-scope", "PB-CHECKOUT-12",
            "after the date an already cancelled booking's re-cancel is 200 as its first cancel left it, and a deleted event's booking is cancelled (200); a confirmed one is 409"
        ) { c in
            let admin = try c.admin()
            let (event, gone) = (try await c.event(), try await c.event())
            let user = try await c.user()
            let early = try await c.book(event, ["A1"], as: user).booking.string("id") ?? ""
            let open = try await c.book(event, ["A2"], as: user).booking.string("id") ?? ""
            let orphan = try await c.book(gone, ["A1"], as: user).booking.string("id") ?? ""
            let first = try await c.cancelled(
                early, token: user.token, json: ["reason": "before the date"], "the owner's cancel before the event's date")
            for id in [event, gone] {
                try c.expect(
                    try await c.call(.PATCH, "/api/v1/events/\(id)", token: admin, json: ["date": "2001-01-01T20:00:00Z"]), 200, nil,
                    "moving the event's date into the past")
            }
            try c.expect(try await c.call(.DELETE, "/api/v1/events/\(gone)", token: admin), 204, nil, "deleting the second event")
            let again = try await c.cancelled(
                early, token: user.token, "the owner's second cancel, after the event's date, of a booking cancelled before it")
            try c.check(
                again.string("status") == "cancelled" && again.string("cancelledAt") == first.string("cancelledAt")
                    && again.string("cancellationReason") == "before the date",
                "the second cancel answered \(again), not the booking as its first cancel left it (cancelledAt \(first["cancelledAt"] ?? "absent"))")
            let deleted = try await c.cancelled(orphan, token: user.token, "the owner's cancel of a booking of a deleted event whose date has come")
            try c.check(
                deleted.string("status") == "cancelled", "the cancel of a deleted event's booking answered status \(deleted["status"] ?? "absent")")
            try c.expect(
                try await c.cancelBooking(open, token: user.token), 409, "cancellation_closed",
                "the owner's cancel of a confirmed booking of the past event")
        },
    ]
}

extension CaseContext {
    /// Holds `seats` of `event` for `user` and checks them out (`headers` go with the checkout, for
    /// example an `Idempotency-Key`); returns the confirmed booking and the hold it was bought with.
    func book(_ event: String, _ seats: [String], as user: TestUser, headers: [(String, String)] = []) async throws
        -> (booking: [String: Any], hold: [String: Any])
    {
        let granted = try await hold(event, seats, as: user)
        let reply = try await call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": seats], headers: headers)
        let named = seats.joined(separator: ", ")
        try expect(reply, 201, nil, "the checkout of \(named)")
        let booking = reply.object("booking")
        try check(
            booking.string("id") != nil && booking.string("status") == "confirmed",
            "the checkout of \(named) answered \(booking), not a confirmed booking with an id")
        return (booking, granted)
    }

    /// `POST /api/v1/bookings/:id/cancel` as the holder of `token`, with `json` as the body (none when nil).
    @discardableResult
    func cancelBooking(_ id: String, token: String, json: [String: Any]? = nil) async throws -> APIReply {
        try await call(.POST, "/api/v1/bookings/\(id)/cancel", token: token, json: json)
    }

    /// Cancels booking `id` as the holder of `token` and returns the booking of the 200 answer;
    /// ``CaseFailure`` naming `what` for any other answer.
    func cancelled(_ id: String, token: String, json: [String: Any]? = nil, _ what: String = "the owner's cancel") async throws -> [String: Any] {
        let reply = try await cancelBooking(id, token: token, json: json)
        try expect(reply, 200, nil, what)
        return reply.object("booking")
    }

    /// `user`'s booking `id` as `GET /api/v1/bookings/me` lists it; ``CaseFailure`` when it is not listed.
    func listedBooking(_ id: String, of user: TestUser) async throws -> [String: Any] {
        let reply = try await call(.GET, "/api/v1/bookings/me", token: user.token)
        try expect(reply, 200, nil, "bookings/me")
        return try require(
            reply.objects("bookings").first { $0.string("id") == id }, "bookings/me of the booking's owner does not list booking \(id)")
    }

    /// `event`'s seat map (`GET /api/v1/events/:id/seats`): its seq and each seat's status by seat id.
    func seatStatuses(_ event: String) async throws -> (seq: Int64?, status: [String: String]) {
        let reply = try await call(.GET, "/api/v1/events/\(event)/seats")
        try expect(reply, 200, nil, "the seat map")
        let seq = ((reply.json["data"] as? [String: Any])?["seq"] as? NSNumber)?.int64Value
        let pairs = reply.objects("seats").compactMap { seat in seat.string("id").map { ($0, seat.string("status") ?? "") } }
        return (seq, Dictionary(pairs, uniquingKeysWith: { first, _ in first }))
    }

    /// `event`'s `availableSeats` as `GET /api/v1/events/:id` gives it (PB-EVENT-2).
    func availableSeats(_ event: String) async throws -> Int? {
        let reply = try await call(.GET, "/api/v1/events/\(event)")
        try expect(reply, 200, nil, "the event")
        return reply.object("event").int("availableSeats")
    }
}

extension LiveConnection {
    /// The changes received after the first snapshot: the messages with a seq, `joined` left out.
    var changesAfterSnapshot: [Message] {
        messages.drop { $0.type != "snapshot" }.dropFirst().filter { $0.seq != nil && $0.type != "joined" && $0.type != "snapshot" }
    }
}

extension LiveConnection.Message {
    /// The `seatIds` of a `seats_booked` or `seats_released`, as a set.
    var seatSet: Set<String> { Set(json?["seatIds"] as? [String] ?? []) }
}

/// Whether `text` is an instant of PB-REST-4: ISO 8601 in UTC with milliseconds (`2027-05-01T19:30:00.000Z`).
func isMillisecondInstant(_ text: String?) -> Bool {
    guard let text else { return false }
    return text.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil
}
