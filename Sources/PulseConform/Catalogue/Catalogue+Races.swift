import Foundation
import PulseWire

extension Catalogue {
    static let races: [ConformanceCase] = [
        ConformanceCase("race.same-seat", "PB-HOLD-4", "twenty users racing for one seat: exactly one hold is granted", needs: [.admin, .testControl]) { c in
            let event = try await c.event()
            var users: [TestUser] = []
            for _ in 0..<20 { users.append(try await c.user()) }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for user in users { group.addTask { try await c.call(.POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A1"]]).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try c.check(statuses.filter { $0 == 201 }.count == 1 && statuses.filter { $0 == 409 }.count == 19, "statuses \(statuses.sorted())")
        },
        ConformanceCase("race.overlapping-holds", "PB-HOLD-4", "overlapping multi-seat holds in a burst: no seat is granted twice", needs: [.admin, .testControl]) { c in
            let event = try await c.event(rows: 1, cols: 8)
            var users: [TestUser] = []
            for _ in 0..<12 { users.append(try await c.user()) }
            let granted = try await withThrowingTaskGroup(of: [String].self) { group in
                for (index, user) in users.enumerated() {
                    let seats = ["A\(index % 7 + 1)", "A\(index % 7 + 2)"]
                    group.addTask {
                        let reply = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": seats])
                        return reply.status == 201 ? seats : []
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            try c.check(Set(granted).count == granted.count && !granted.isEmpty, "seats granted more than once: \(granted.sorted())")
            let seats = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
            try c.check(Set(seats.filter { $0.string("status") == "locked" }.compactMap { $0.string("id") }) == Set(granted), "the seat map disagrees with the grants")
        },
        ConformanceCase("race.checkout-against-expiry", "PB-HOLD-6",
                        "checkouts stalled to begin just before and just after their holds' expiry, against rival holds: exactly one owner per seat",
                        needs: [.admin, .testControl]) { c in
            let event = try await c.event(rows: 1, cols: 4)
            var owners: [TestUser] = []
            for _ in 0..<4 { owners.append(try await c.user()) }
            // A1, A2: checkouts begun before the expiry (booked; the rival is refused). A3: begun
            // after it, when the rival already holds the seat (409 hold_required). A4: begun after
            // it, nobody took the seat since (410 hold_expired; the rival does not ask for A4).
            let rival = try await c.user()
            for (index, owner) in owners.enumerated() { _ = try await c.hold(event, ["A\(index + 1)"], as: owner, headers: try c.shortTTL(2)) }
            // Times from the moment every hold was granted (T; each expires by T + 2 s): each
            // checkout is sent at T + 0.2 s and stalled (PB-TEST-5 before=) to begin at about
            // T + 0.3 and T + 0.7 (before the expiry), T + 2.7 and T + 2.8 (after it); the rival
            // asks for A1...A3 at T + 2.3 s. Every margin is at least 0.3 s.
            let granted = ContinuousClock.now
            let stalls = [100, 500, 2_500, 2_600]
            try await Task.sleep(until: granted + .milliseconds(200))
            let outcomes = try await withThrowingTaskGroup(of: (index: Int, checkout: APIReply, rival: APIReply?).self) { group in
                for (index, owner) in owners.enumerated() {
                    group.addTask {
                        async let checkout = c.call(.POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": ["A\(index + 1)"]],
                                                    headers: [("Pulse-Test-Stall", "before=\(stalls[index])")])
                        try await Task.sleep(until: granted + .milliseconds(2_300))
                        let held = index == 3 ? nil : try await c.call(.POST, "/api/v1/events/\(event)/holds", token: rival.token, json: ["seatIds": ["A\(index + 1)"]])
                        return (index, try await checkout, held)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }.sorted { $0.index < $1.index }
            c.note(outcomes.map { "A\($0.index + 1): checkout \($0.checkout.status) \($0.checkout.code ?? ""), rival \($0.rival.map { "\($0.status)" } ?? "-")" }
                .joined(separator: "; "))
            for outcome in outcomes {
                try c.check(!(outcome.checkout.status == 201 && outcome.rival?.status == 201), "A\(outcome.index + 1) was booked and granted to another user")
            }
            for outcome in outcomes.prefix(2) {
                try c.expect(outcome.checkout, 201, nil, "a checkout begun before its hold's expiry")
                try c.expect(try c.require(outcome.rival, "no rival"), 409, "seat_unavailable", "the rival's hold of a booked seat")
            }
            try c.expect(outcomes[2].checkout, 409, "hold_required", "a checkout begun after its hold's expiry, of a seat another user then held")
            try c.expect(try c.require(outcomes[2].rival, "no rival"), 201, nil, "the rival's hold of a lapsed seat")
            try c.expect(outcomes[3].checkout, 410, "hold_expired", "a checkout begun after its hold's expiry, of a seat nobody took since")
        },
        ConformanceCase("race.same-key", "PB-CHECKOUT-6", "concurrent checkouts with one Idempotency-Key make one booking") { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            let key = c.unique("key")
            let replies = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let reply = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: [("Idempotency-Key", key)])
                        return (reply.status, reply.object("booking").string("id"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let bookings = Set(replies.compactMap(\.1))
            try c.check(bookings.count == 1 && replies.allSatisfy { $0.0 == 201 || $0.0 == 409 }, "answers \(replies.map(\.0)), \(bookings.count) bookings")
        },
        ConformanceCase("race.live-burst", "PB-LIVE-7", "a burst of concurrent holds reaches a subscriber gap-free and in order", needs: [.admin, .testControl]) { c in
            let event = try await c.event(rows: 2, cols: 10)
            let watcher = c.live(try await c.user().token)
            watcher.send(["type": "join_event", "eventId": event])
            let start = try await watcher.next("snapshot") { $0.type == "snapshot" }.seq ?? 0
            var users: [TestUser] = []
            for _ in 0..<10 { users.append(try await c.user()) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, user) in users.enumerated() {
                    group.addTask { _ = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A\(index + 1)", "B\(index + 1)"]]) }
                }
                try await group.waitForAll()
            }
            let seqs = try await watcher.waitUntil("twenty seat_locked") { $0.filter { $0.type == "seat_locked" }.count >= 20 }
                .filter { $0.type == "seat_locked" }.compactMap(\.seq)
            try c.check(seqs == Array((start + 1)...(start + 20)), "seqs \(seqs) after \(start)")
        },
    ]
}
