import Foundation
import PulseWire

extension Catalogue {
    static let checkout: [ConformanceCase] = [
        ConformanceCase("checkout.books", "PB-CHECKOUT-2", "a checkout of held seats answers 201 with the confirmed booking, listed in bookings/me") {
            c in
            let event = try await c.event(price: 25)
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let reply = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"]])
            try c.expect(reply, 201)
            let booking = reply.object("booking")
            try c.check(
                booking.string("status") == "confirmed" && booking.double("totalAmount") == 50 && booking.string("userId") == user.id
                    && Set(booking.strings("seatIds")) == ["A1", "A2"], "booking is \(booking)")
            let mine = try await c.call(.GET, "/api/v1/bookings/me", token: user.token).objects("bookings")
            try c.check(mine.contains { $0.string("id") == booking.string("id") }, "bookings/me lacks the booking")
        },
        ConformanceCase("checkout.with-hold-id", "PB-CHECKOUT-1", "a checkout naming its hold books it; an unknown hold id is 404 hold_not_found") {
            c in
            let event = try await c.event()
            let user = try await c.user()
            let hold = try await c.hold(event, ["A1"], as: user)
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token,
                    json: ["seatIds": ["A1"], "holdId": String(repeating: "a", count: 32)]), 404, "hold_not_found")
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"], "holdId": hold.string("id") ?? ""]), 201)
        },
        ConformanceCase("checkout.price", "PB-CHECKOUT-4", "a wrong totalAmount is 422 amount_mismatch with expectedAmount; the right one books") {
            c in
            let event = try await c.event(price: 19.99)
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let wrong = try await c.call(
                .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"], "totalAmount": 1])
            try c.expect(wrong, 422, "amount_mismatch")
            try c.check(
                (wrong.json["expectedAmount"] as? NSNumber)?.doubleValue == 39.98, "expectedAmount is \(wrong.json["expectedAmount"] ?? "absent")")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"], "totalAmount": 39.98]),
                201)
        },
        ConformanceCase("checkout.without-hold", "PB-CHECKOUT-3", "a checkout of seats not held is 409 hold_required") { c in
            let event = try await c.event()
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: try await c.user().token, json: ["seatIds": ["A1"]]), 409,
                "hold_required")
        },
        ConformanceCase("checkout.others-hold", "PB-CHECKOUT-3", "a checkout of another user's held seat is 409 hold_required and books nothing") {
            c in
            let event = try await c.event()
            let owner = try await c.user(0)
            _ = try await c.hold(event, ["A1"], as: owner)
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: try await c.user(1).token, json: ["seatIds": ["A1"]]), 409,
                "hold_required")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": ["A1"]]), 201, nil,
                "the owner's checkout")
        },
        ConformanceCase(
            "checkout.lapsed-hold", "PB-CHECKOUT-3", "a checkout after the hold lapsed is 410 hold_expired, by seat ids and by hold id",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user, headers: try c.shortTTL(1))
            let hold = try await c.hold(event, ["A2"], as: user, headers: try c.shortTTL(1))
            try await Task.sleep(for: .milliseconds(1_200))
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 410, "hold_expired",
                "by seat ids")
            try c.expect(
                try await c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A2"], "holdId": hold.string("id") ?? ""]),
                410, "hold_expired", "by hold id")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: try await c.user(1).token, json: ["seatIds": ["A1"]]), 409,
                "hold_required",
                "another user's checkout of the lapsed seat")
        },
        ConformanceCase(
            "checkout.at-expiry", "PB-HOLD-6", "a checkout that starts at expiresAt is 410, before any sweep could run",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            let hold = try await c.hold(event, ["A1"], as: user, headers: try c.shortTTL(1))
            let expires = WireWorld.ns(hold.string("expiresAt"))
            // Sent so that it reaches the server just after expiresAt (well before a 1 s sweep bound).
            try await Task.sleep(for: .nanoseconds(max(0, expires - WireRecorder.nowNs() + 20_000_000)))
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 410, "hold_expired")
        },
        ConformanceCase("checkout.partial", "PB-CHECKOUT-1", "a checkout of part of a hold books those seats; the others stay held by the same hold")
        { c in
            let event = try await c.event()
            let user = try await c.user()
            let hold = try await c.hold(event, ["A1", "A2"], as: user)
            let reply = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]])
            try c.expect(reply, 201)
            try c.check(reply.object("booking").strings("seatIds") == ["A1"], "booked \(reply.object("booking").strings("seatIds"))")
            let holds = try await c.call(.GET, "/api/v1/events/\(event)/holds", token: user.token).objects("holds")
            try c.check(
                holds.count == 1 && holds[0].string("id") == hold.string("id") && holds[0].strings("seatIds") == ["A2"]
                    && holds[0].string("expiresAt") == hold.string("expiresAt"), "holds after the partial checkout: \(holds)")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user(1).token, json: ["seatIds": ["A2"]]), 409,
                "seat_unavailable",
                "another user's hold of the seat still held")
        },
        ConformanceCase("checkout.concurrent-same-hold", "PB-CHECKOUT-5", "five concurrent checkouts of one hold by its owner make one booking") {
            c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let replies = try await withThrowingTaskGroup(of: APIReply.self) { group in
                for _ in 0..<5 {
                    group.addTask { try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"]]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let statuses = replies.map(\.status).sorted()
            try c.check(statuses.filter { $0 == 201 }.count == 1, "answers \(statuses): \(statuses.filter { $0 == 201 }.count) bookings of one hold")
            try c.check(
                replies.allSatisfy {
                    $0.status == 201 || $0.status == 409 && ["checkout_in_progress", "hold_required", "seat_unavailable"].contains($0.code ?? "")
                },
                "the others answered \(replies.map { "\($0.status) \($0.code ?? "")" })")
            let mine = try await c.call(.GET, "/api/v1/bookings/me", token: user.token).objects("bookings").filter { $0.string("eventId") == event }
            try c.check(mine.count == 1, "\(mine.count) bookings listed")
        },
        ConformanceCase(
            "checkout.store-failure", "PB-CHECKOUT-7", "a failed commit is 503 store_unavailable, outcomeUnknown, Retry-After; the seats stay frozen",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user(0)
            _ = try await c.hold(event, ["A1"], as: user)
            let failed = try await c.call(
                .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: [("Pulse-Test-Fault", "commit=fail")])
            try c.expect(failed, 503, "store_unavailable")
            try c.check(failed.json["outcomeUnknown"] as? Bool == true, "outcomeUnknown is \(failed.json["outcomeUnknown"] ?? "absent")")
            try c.check(Int(failed.headers.first(name: "Retry-After") ?? "") != nil, "no Retry-After")
            try c.check(try await c.bookings(of: user, in: event).isEmpty, "a commit that failed before writing left a booking")
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user(1).token, json: ["seatIds": ["A1"]]), 409,
                "seat_unavailable",
                "another user's hold while the failed checkout is undecided")
        },
        ConformanceCase(
            "checkout.lost-answer", "PB-ERR-4", "a commit whose answer is lost is 503 outcomeUnknown; a retry with the key returns the booking",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            let key = ("Idempotency-Key", c.unique("key"))
            let lost = try await c.call(
                .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]],
                headers: [("Pulse-Test-Fault", "commit=lost"), key])
            try c.expect(lost, 503, "store_unavailable")
            try c.check(
                lost.json["outcomeUnknown"] as? Bool == true && Int(lost.headers.first(name: "Retry-After") ?? "") != nil,
                "no outcomeUnknown true with Retry-After")
            let retry = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: [key])
            try c.expect(retry, 201, nil, "the retry with the same key")
            let mine = try await c.bookings(of: user, in: event)
            try c.check(mine.count == 1 && c.documentID(mine[0]) == c.documentID(retry.object("booking")), "bookings after the retry: \(mine.count)")
        },
        ConformanceCase("checkout.booked-seat", "PB-HOLD-4", "a booked seat cannot be held again (409 seat_unavailable)") { c in
            let event = try await c.event()
            let user = try await c.user(0)
            _ = try await c.hold(event, ["A1"], as: user)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 201)
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user(1).token, json: ["seatIds": ["A1"]]), 409,
                "seat_unavailable")
        },
        ConformanceCase(
            "checkout.idempotent", "PB-CHECKOUT-6", "a retry with the same Idempotency-Key returns the same booking and books nothing more"
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            let key = [("Idempotency-Key", c.unique("key"))]
            let first = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: key)
            let again = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: key)
            try c.expect(first, 201)
            try c.expect(again, 201, nil, "the retry")
            try c.check(first.object("booking").string("id") == again.object("booking").string("id"), "the retry made another booking")
            try c.check(again.headers.first(name: "Idempotent-Replayed") == "true", "no Idempotent-Replayed: true")
            let mine = try await c.call(.GET, "/api/v1/bookings/me", token: user.token).objects("bookings")
            try c.check(mine.filter { $0.string("eventId") == event }.count == 1, "\(mine.count) bookings for the event")
        },
        ConformanceCase("checkout.key-reused", "PB-CHECKOUT-6", "the same key for other seats is 422 idempotency_key_reused") { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let key = [("Idempotency-Key", c.unique("key"))]
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: key), 201)
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A2"]], headers: key), 422,
                "idempotency_key_reused")
        },
        ConformanceCase(
            "checkout.fenced", "PB-CHECKOUT-5", "a checkout that stalls past its hold's expiry never lands over a newer hold (seed race 2)",
            needs: [.admin, .testControl]
        ) { c in
            // A 1 s hold, its checkout stalled 2.5 s at the commit, a rival's hold of the seat 1.5 s
            // in. A checkout that reached the commit froze the hold while it was live, so (PB-HOLD-6)
            // it books within its lease and the rival is refused meanwhile. A checkout refused
            // quickly, but later than the hold's second, may have arrived after the hold lapsed (a
            // slow machine): the round runs again.
            let (ttlMs, stallMs) = (1_000, 2_500)
            try await c.inRounds(1, atMost: 3) { _ in
                let event = try await c.event()
                let (first, second) = (try await c.user(0), try await c.user(1))
                let holdSent = ContinuousClock.now
                _ = try await c.hold(event, ["A1"], as: first, headers: try c.shortTTL(ttlMs / 1_000))
                let checkoutSent = ContinuousClock.now
                async let stalled = c.call(
                    .POST, "/api/v1/events/\(event)/seats", token: first.token, json: ["seatIds": ["A1"]],
                    headers: [("Pulse-Test-Stall", "commit=\(stallMs)")])
                try await Task.sleep(for: .milliseconds(1_500))
                let rival = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: second.token, json: ["seatIds": ["A1"]])
                let checkout = try await stalled
                let checkoutAnswered = ContinuousClock.now
                try c.check(
                    !(rival.status == 201 && checkout.status == 201),
                    "the stalled checkout booked A1 although another user was granted A1 while it stalled")
                let refusedBeforeCommit = checkout.status != 201 && checkoutAnswered - checkoutSent < .milliseconds(stallMs)
                if refusedBeforeCommit && checkoutAnswered - holdSent >= .milliseconds(ttlMs) {
                    return .undecided("the checkout was refused \(checkout.status) before its commit, when its 1 s hold may have lapsed")
                }
                // Refused as expired while the rival got the seat: what a checkout that reached the
                // server after its hold lapsed is rightly told. A loaded machine delays a request
                // past 1 s, and from here a refusal before the commit, answered late, looks like
                // one after the stall: it proves no defect.
                if checkout.status == 410, checkout.code == "hold_expired", rival.status == 201, checkoutAnswered - holdSent >= .milliseconds(ttlMs) {
                    return .undecided(
                        "the checkout was refused 410 hold_expired and the rival granted the seat: the checkout may have reached the server after its 1 s hold lapsed"
                    )
                }
                try c.check(
                    checkout.status == 201 && rival.status == 409 && rival.code == "seat_unavailable",
                    "the stalled checkout answered \(checkout.status) \(checkout.code ?? ""), the rival's hold \(rival.status) \(rival.code ?? "")")
                return .clean("the stalled checkout booked and the rival was refused meanwhile")
            }
        },
        ConformanceCase("checkout.bookings-need-token", "PB-CHECKOUT-2", "bookings/me without a token is 401", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me"), 401, "unauthenticated")
        },
        // Scope (issue 24.5): a key's record is of "the same event and seats".
        ConformanceCase(
            "checkout.key-other-event", "PB-CHECKOUT-6",
            "a key used again with the same seat ids in another event is 422 idempotency_key_reused: nothing is booked there and the hold stays"
        ) { c in
            let (first, second) = (try await c.event(), try await c.event())
            let user = try await c.user()
            _ = try await c.hold(first, ["A1"], as: user)
            let held = try await c.hold(second, ["A1"], as: user)
            let key = [("Idempotency-Key", c.unique("key"))]
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(first)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: key), 201, nil,
                "the first checkout with the key")
            let reused = try await c.call(.POST, "/api/v1/events/\(second)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: key)
            try c.expect(reused, 422, "idempotency_key_reused", "the same key and seat ids for another event")
            let booked = try await c.bookings(of: user, in: second)
            try c.check(booked.isEmpty, "the refused checkout left \(booked.count) booking(s) of the second event")
            let holds = try await c.call(.GET, "/api/v1/events/\(second)/holds", token: user.token).objects("holds").compactMap { $0.string("id") }
            try c.check(
                holds == [held.string("id") ?? "-"],
                "after the refused checkout the user's holds of the second event are \(holds), not the hold of A1")
        },
        // Scope: "if any uncovered seat was never the caller's, the answer is 409 hold_required".
        ConformanceCase(
            "checkout.lapsed-and-unheld", "PB-CHECKOUT-3",
            "without holdId, seats of which one lapsed from the caller's hold and one was never the caller's are 409 hold_required, in either order; nothing is booked",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user, headers: try c.shortTTL(1))
            // The hold lapses 1 s after its grant, which came before its answer: later only makes it more lapsed.
            try await Task.sleep(for: .milliseconds(1_200))
            for seats in [["A1", "A2"], ["A2", "A1"]] {
                try c.expect(
                    try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": seats]), 409, "hold_required",
                    "a checkout of \(seats.joined(separator: ", ")): A1's hold lapsed, A2 never held")
            }
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 410, "hold_expired",
                "a checkout of A1 alone, whose hold lapsed")
            try c.check(try await c.bookings(of: user, in: event).isEmpty, "a refused checkout left a booking")
        },
    ]
}
