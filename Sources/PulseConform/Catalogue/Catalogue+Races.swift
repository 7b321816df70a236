import Foundation
import PulseProtocol
import PulseWire

/// Races provoked by many concurrent clients and by stalls (test control). Each case fails on the
/// evidence of its own clause; when its evidence shows another defect instead (a map that
/// disagrees with the grants, a hold of a sold seat, a refused hold of a free seat), the failure
/// names that clause and what shows it. Margins follow the pace the case measured.
extension Catalogue {
    static let races: [ConformanceCase] = [
        ConformanceCase(
            "race.same-seat", "PB-HOLD-4", "twenty users racing for one seat: exactly one hold is granted", needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event()
            var users: [TestUser] = []
            for _ in 0..<20 { users.append(try await c.user()) }
            let replies = try await withThrowingTaskGroup(of: APIReply.self) { group in
                for user in users {
                    group.addTask { try await c.call(.POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A1"]]) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let statuses = replies.map(\.status).sorted()
            let granted = replies.filter { $0.status == 201 }.count
            try c.check(granted <= 1, "\(granted) users were granted the one seat: statuses \(statuses)")
            try c.check(granted == 1, "PB-HOLD-2: nobody was granted the free seat: statuses \(statuses)")
            let refused = replies.filter { $0.status != 201 }
            try c.check(
                refused.allSatisfy { $0.status == 409 && $0.code == "seat_unavailable" },
                "the losers were answered \(refused.map { "\($0.status) \($0.code ?? "")" }.sorted()), not 409 seat_unavailable")
        },
        ConformanceCase(
            "race.overlapping-holds", "PB-HOLD-4", "overlapping multi-seat holds in a burst: no seat is granted twice", needs: [.admin, .testControl]
        ) { c in
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
            try c.check(Set(granted).count == granted.count, "seats granted more than once: \(granted.sorted())")
            try c.check(!granted.isEmpty, "PB-HOLD-2: no hold of free seats was granted")
            // The map read after every answer: a seat locked there that no 201 granted was held by a
            // refused hold (all or nothing, this clause); a granted seat shown free is the map's
            // matter (PB-SEAT-2) if the seat is still held (another user is refused it).
            let seats = try await c.call(.GET, "/api/v1/events/\(event)/seats").objects("seats")
            let locked = Set(seats.filter { $0.string("status") == "locked" }.compactMap { $0.string("id") })
            let partial = locked.subtracting(granted)
            try c.check(partial.isEmpty, "seats held by holds that were refused: \(partial.sorted()) locked in the map, granted to nobody")
            let unshown = Set(granted).subtracting(locked).sorted()
            guard !unshown.isEmpty else { return }
            let probe = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user().token, json: ["seatIds": unshown])
            try c.check(
                probe.status == 201,
                "PB-SEAT-2: the seat map shows \(unshown) not locked, though they are still held (another user's hold of them: "
                    + "\(probe.status) \(probe.code ?? ""))")
            throw CaseFailure(
                "PB-HOLD-6: granted holds vanished before their TTL: \(unshown) were granted, the map shows them free, and another user could hold them"
            )
        },
        ConformanceCase(
            "race.checkout-against-expiry", "PB-HOLD-6",
            "checkouts stalled to begin just before and just after their holds' expiry, against rival holds: exactly one owner per seat",
            needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event(rows: 1, cols: 4)
            var owners: [TestUser] = []
            for _ in 0..<4 { owners.append(try await c.user()) }
            // A1, A2: checkouts begun before the expiry (booked; the rival is refused). A3: begun
            // after it, when the rival already holds the seat (409 hold_required). A4: begun after
            // it, nobody took the seat since (410 hold_expired; the rival does not ask for A4).
            let rival = try await c.user()
            // The hold TTL follows the pace: at least 2 s, and at least twelve round trips of a hold.
            let paced = ContinuousClock.now
            _ = try await c.call(.GET, "/api/v1/events/\(event)")
            let trip = ContinuousClock.now - paced
            let ttl = max(2, Int((trip * 12).components.seconds) + 1)
            let unit = Duration.milliseconds(ttl * 1000)
            var holds: [[String: Any]] = []
            for (index, owner) in owners.enumerated() {
                holds.append(try await c.hold(event, ["A\(index + 1)"], as: owner, headers: try c.shortTTL(ttl)))
            }
            // Times from the moment every hold was granted (T; each expires by T + TTL): each
            // checkout is sent at T + 0.1 TTL and stalled (PB-TEST-5 before=) to begin at about
            // T + 0.15 and T + 0.35 TTL (before the expiry), T + 1.35 and T + 1.4 TTL (after it); the
            // rival asks for A1...A3 at T + 1.15 TTL. Every margin is at least 0.15 TTL (0.3 s).
            let granted = ContinuousClock.now
            let stallsMs = [0.05, 0.25, 1.25, 1.3].map { Int($0 * Double(ttl) * 1000) }
            let rivalAt = granted + unit * 1.15
            try await Task.sleep(until: granted + unit / 10)
            struct Outcome: Sendable {
                var index: Int
                var checkout: APIReply
                /// When the checkout was sent and answered (it began in between, at least its stall after it was sent).
                var sent: ContinuousClock.Instant
                var answered: ContinuousClock.Instant
                var rival: APIReply?
                var rivalAnswered: ContinuousClock.Instant
            }
            let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                for (index, owner) in owners.enumerated() {
                    group.addTask {
                        let sent = ContinuousClock.now
                        async let checkout: (APIReply, ContinuousClock.Instant) = {
                            let reply = try await c.call(
                                .POST, "/api/v1/events/\(event)/seats", token: owner.token, json: ["seatIds": ["A\(index + 1)"]],
                                headers: [("Pulse-Test-Stall", "before=\(stallsMs[index])")])
                            return (reply, ContinuousClock.now)
                        }()
                        try await Task.sleep(until: rivalAt)
                        let held =
                            index == 3
                            ? nil : try await c.call(.POST, "/api/v1/events/\(event)/holds", token: rival.token, json: ["seatIds": ["A\(index + 1)"]])
                        let rivalAnswered = ContinuousClock.now
                        let (reply, answered) = try await checkout
                        return Outcome(index: index, checkout: reply, sent: sent, answered: answered, rival: held, rivalAnswered: rivalAnswered)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }.sorted { $0.index < $1.index }
            c.note(
                "hold TTL \(ttl) s (a round trip took \(Int(trip.components.seconds * 1000 + trip.components.attoseconds / 1_000_000_000_000_000)) ms); "
                    + outcomes.map {
                        "A\($0.index + 1): checkout \($0.checkout.status) \($0.checkout.code ?? ""), rival \($0.rival.map { "\($0.status)" } ?? "-")"
                    }
                    .joined(separator: "; "))
            // Each order below is known only if the machine kept to the plan; when it did not, the
            // case cannot decide (a refusal or a grant then proves nothing).
            for outcome in outcomes.prefix(2) where outcome.answered >= rivalAt {
                throw CaseInconclusive(
                    "the checkout of A\(outcome.index + 1) was answered after the rival asked for the seat: their order is unknown")
            }
            guard outcomes[2].rivalAnswered < outcomes[2].sent + .milliseconds(stallsMs[2]) else {
                throw CaseInconclusive("the rival's hold of A3 was answered after A3's checkout could have begun: their order is unknown")
            }
            for outcome in outcomes.prefix(2) where outcome.checkout.status == 201 && outcome.rival?.status == 201 {
                throw CaseFailure(
                    "PB-HOLD-4: A\(outcome.index + 1) was booked by a checkout begun before its hold's expiry, then held by another user")
            }
            if outcomes[2].checkout.status == 201 && outcomes[2].rival?.status == 201 {
                throw CaseFailure("A3 was booked by a checkout begun after its hold's expiry, after another user was granted it")
            }
            for outcome in outcomes.prefix(2) {
                // A checkout answered before its hold's expiresAt began before it.
                let expiresAt = WireWorld.ns(holds[outcome.index].string("expiresAt"))
                let answeredNs = WireRecorder.nowNs() - (ContinuousClock.now - outcome.answered).nanoseconds
                if outcome.checkout.status != 201, answeredNs >= expiresAt {
                    throw CaseInconclusive("the checkout of A\(outcome.index + 1) was answered after its hold's expiry: it may have begun after it")
                }
                try c.expect(outcome.checkout, 201, nil, "a checkout begun before its hold's expiry")
                try c.expect(try c.require(outcome.rival, "no rival"), 409, "seat_unavailable", "PB-HOLD-4: the rival's hold of a booked seat")
            }
            try c.expect(try c.require(outcomes[2].rival, "no rival"), 201, nil, "the rival's hold of a lapsed seat")
            try c.expect(
                outcomes[2].checkout, 409, "hold_required",
                "PB-CHECKOUT-3: a checkout begun after its hold's expiry, of a seat another user then held")
            try c.expect(outcomes[3].checkout, 410, "hold_expired", "a checkout begun after its hold's expiry, of a seat nobody took since")
        },
        ConformanceCase("race.same-key", "PB-CHECKOUT-6", "concurrent checkouts with one Idempotency-Key make one booking") { c in
            let event = try await c.event()
            let user = try await c.user()
            _ = try await c.hold(event, ["A1"], as: user)
            let key = c.unique("key")
            let replies = try await withThrowingTaskGroup(of: (Int, String?, String?).self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let reply = try await c.call(
                            .POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]], headers: [("Idempotency-Key", key)])
                        return (reply.status, reply.code, reply.object("booking").string("id"))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let bookings = Set(replies.compactMap(\.2))
            try c.check(bookings.count <= 1, "\(bookings.count) bookings from one key: answers \(replies.map(\.0))")
            try c.check(bookings.count == 1, "PB-CHECKOUT-1: no checkout of a held seat booked: answers \(replies.map { "\($0.0) \($0.1 ?? "")" })")
            try c.check(
                replies.allSatisfy { $0.0 == 201 || $0.0 == 409 && $0.1 == "idempotency_in_progress" },
                "the retries were answered \(replies.map { "\($0.0) \($0.1 ?? "")" }), not 201 with the booking or 409 idempotency_in_progress")
        },
        ConformanceCase(
            "race.live-burst", "PB-LIVE-7", "a burst of concurrent holds reaches a subscriber gap-free and in order", needs: [.admin, .testControl]
        ) { c in
            let event = try await c.event(rows: 2, cols: 10)
            let watcher = c.live(try await c.user().token)
            watcher.send(["type": "join_event", "eventId": event])
            let start = try await watcher.next("snapshot") { $0.type == "snapshot" }.seq ?? 0
            var users: [TestUser] = []
            for _ in 0..<10 { users.append(try await c.user()) }
            let replies = try await withThrowingTaskGroup(of: APIReply.self) { group in
                for (index, user) in users.enumerated() {
                    group.addTask {
                        try await c.call(
                            .POST, "/api/v1/events/\(event)/holds", token: user.token, json: ["seatIds": ["A\(index + 1)", "B\(index + 1)"]])
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Twenty free seats in ten disjoint holds: each is granted (else a hold's matter, not the stream's).
            let refused = replies.filter { $0.status != 201 }
            try c.check(refused.isEmpty, "PB-HOLD-2: holds of free seats were refused: \(refused.map { "\($0.status) \($0.code ?? "")" })")
            // Every change is broadcast (PB-LIVE-5); the subscriber gets them with no gap, in order.
            let seqs = try await watcher.waitUntil(seconds: 20, "twenty seat_locked") { $0.filter { $0.type == "seat_locked" }.count >= 20 }
                .filter { $0.type == "seat_locked" }.compactMap(\.seq)
            try c.check(seqs == Array((start + 1)...(start + 20)), "seqs \(seqs) after \(start)")
        },
    ]
}
