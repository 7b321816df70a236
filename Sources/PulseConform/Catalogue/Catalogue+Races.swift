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
        ConformanceCase("race.checkout-against-expiry", "PB-CHECKOUT-5", "checkouts racing their holds' expiry and rival holds: never two owners of a seat",
                        needs: [.admin, .testControl]) { c in
            let event = try await c.event(rows: 1, cols: 6)
            var owners: [TestUser] = []
            var rivals: [TestUser] = []
            for _ in 0..<6 { owners.append(try await c.user()); rivals.append(try await c.user()) }
            for (index, owner) in owners.enumerated() { _ = try await c.hold(event, ["A\(index + 1)"], as: owner, headers: try c.shortTTL(1)) }
            try await Task.sleep(for: .milliseconds(900))
            let outcomes = try await withThrowingTaskGroup(of: (seat: String, booked: Bool, rivalHeld: Bool).self) { group in
                for index in 0..<6 {
                    let seat = "A\(index + 1)"
                    let (owner, rival) = (owners[index], rivals[index])
                    group.addTask {
                        async let booking = c.call(.POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": [seat]])
                        try await Task.sleep(for: .milliseconds(50 * index))
                        let held = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: rival.token, json: ["seatIds": [seat]])
                        return (seat, try await booking.status == 201, held.status == 201)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let broken = outcomes.filter { $0.booked && $0.rivalHeld }
            c.note("outcomes: \(outcomes.sorted { $0.seat < $1.seat }.map { "\($0.seat): booked \($0.booked), rival held \($0.rivalHeld)" }.joined(separator: "; "))")
            try c.check(broken.isEmpty, "seats booked by their first holder although a rival was granted them: \(broken.map(\.seat))")
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
