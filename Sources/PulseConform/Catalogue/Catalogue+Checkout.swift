import Foundation

extension Catalogue {
    static let checkout: [ConformanceCase] = [
        ConformanceCase("checkout.books", "PB-CHECKOUT-2", "a checkout of held seats answers 201 with the confirmed booking, listed in bookings/me") { c in
            let event = try await c.event(price: 25)
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let reply = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"]])
            try c.expect(reply, 201)
            let booking = reply.object("booking")
            try c.check(booking.string("status") == "confirmed" && booking.double("totalAmount") == 50 && booking.string("userId") == user.id
                        && Set(booking.strings("seatIds")) == ["A1", "A2"], "booking is \(booking)")
            let mine = try await c.call(.GET, "/api/v1/bookings/me", token: user.token).objects("bookings")
            try c.check(mine.contains { $0.string("id") == booking.string("id") }, "bookings/me lacks the booking")
        },
        ConformanceCase("checkout.with-hold-id", "PB-CHECKOUT-1", "a checkout naming its hold books it; an unknown hold id is 404 hold_not_found") { c in
            let event = try await c.event()
            let user = try await c.user()
            let hold = try await c.hold(event, ["A1"], as: user)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token,
                                          json: ["seatIds": ["A1"], "holdId": String(repeating: "a", count: 32)]), 404, "hold_not_found")
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"], "holdId": hold.string("id") ?? ""]), 201)
        },
        ConformanceCase("checkout.price", "PB-CHECKOUT-4", "a wrong totalAmount is 422 amount_mismatch with expectedAmount; the right one books") { c in
            let event = try await c.event(price: 19.99)
            let user = try await c.user()
            _ = try await c.hold(event, ["A1", "A2"], as: user)
            let wrong = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"], "totalAmount": 1])
            try c.expect(wrong, 422, "amount_mismatch")
            try c.check((wrong.json["expectedAmount"] as? NSNumber)?.doubleValue == 39.98, "expectedAmount is \(wrong.json["expectedAmount"] ?? "absent")")
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1", "A2"], "totalAmount": 39.98]), 201)
        },
        ConformanceCase("checkout.without-hold", "PB-CHECKOUT-3", "a checkout of seats not held is 409 hold_required") { c in
            let event = try await c.event()
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: try await c.user().token, json: ["seatIds": ["A1"]]), 409, "hold_required")
        },
        ConformanceCase("checkout.others-hold", "PB-CHECKOUT-3", "a checkout of another user's held seat is 409 hold_required and books nothing") { c in
            let event = try await c.event()
            let owner = try await c.user(0)
            _ = try await c.hold(event, ["A1"], as: owner)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: try await c.user(1).token, json: ["seatIds": ["A1"]]), 409, "hold_required")
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": ["A1"]]), 201, nil, "the owner's checkout")
        },
        ConformanceCase("checkout.lapsed-hold", "PB-CHECKOUT-3", "a checkout after the hold lapsed is 410 hold_expired", needs: [.admin, .testControl]) { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user, headers: try c.shortTTL(1))
            try await Task.sleep(for: .milliseconds(1_200))
            let reply = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]])
            try c.check(reply.status == 410 && reply.code == "hold_expired" || reply.status == 409 && reply.code == "hold_required",
                        "expected 410 hold_expired, got \(reply.status) \(reply.code ?? "")")
        },
        ConformanceCase("checkout.booked-seat", "PB-HOLD-4", "a booked seat cannot be held again (409 seat_unavailable)") { c in
            let event = try await c.event()
            let user = try await c.user(0)
            _ = try await c.hold(event, ["A1"], as: user)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]]), 201)
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user(1).token, json: ["seatIds": ["A1"]]), 409, "seat_unavailable")
        },
        ConformanceCase("checkout.idempotent", "PB-CHECKOUT-6", "a retry with the same Idempotency-Key returns the same booking and books nothing more") { c in
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
            try c.expect(try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A2"]], headers: key), 422, "idempotency_key_reused")
        },
        ConformanceCase("checkout.fenced", "PB-CHECKOUT-5", "a checkout that stalls past its hold's expiry never lands over a newer hold (seed race 2)",
                        needs: [.admin, .testControl]) { c in
            let event = try await c.event()
            let (first, second) = (try await c.user(0), try await c.user(1))
            _ = try await c.hold(event, ["A1"], as: first, headers: try c.shortTTL(1))
            async let stalled = c.call(.POST, "/api/v1/events/\(event)/seats", token: first.token, json: ["seatIds": ["A1"]], headers: [("Pulse-Test-Stall", "commit=2500")])
            try await Task.sleep(for: .milliseconds(1_500))
            let rival = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: second.token, json: ["seatIds": ["A1"]])
            let checkout = try await stalled
            try c.check(!(rival.status == 201 && checkout.status == 201),
                        "the stalled checkout booked A1 although another user was granted A1 while it stalled")
            try c.check(checkout.status == 201 || checkout.code == "hold_superseded" || checkout.code == "hold_expired",
                        "the stalled checkout answered \(checkout.status) \(checkout.code ?? "")")
        },
        ConformanceCase("checkout.bookings-need-token", "PB-CHECKOUT-2", "bookings/me without a token is 401", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/bookings/me"), 401, "unauthenticated")
        },
    ]
}
