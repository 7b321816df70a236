/// Invariants about holds: hold-exclusive, booking-requires-live-hold, release-by-owner-only,
/// capacity (per-user hold cap).
extension HistoryChecker {
    /// hold-exclusive: no hold is granted while another hold of the same seat is surely live.
    /// Per seat, one sweep in time order: each grant is compared with the earlier-live hold that
    /// stays live the longest (n log n per seat, not a comparison of every pair).
    static func holdExclusive(_ index: HistoryIndex, _ intervals: [String: [String: [HeldInterval]]]) -> [Violation] {
        var violations: [Violation] = []
        for (event, seats) in intervals.sorted(by: { $0.key < $1.key }) {
            for (seat, holds) in seats.sorted(by: { $0.key < $1.key }) {
                let byLiveFrom = holds.indices.sorted { (holds[$0].surelyLiveFromNs, $0) < (holds[$1].surelyLiveFromNs, $1) }
                let byGrant = holds.indices.sorted { (holds[$0].grant.startNs, $0) < (holds[$1].grant.startNs, $1) }
                var next = 0
                var longest: Int?  // of the holds surely live before the grant, the one live the longest
                for later in byGrant {
                    while next < byLiveFrom.count, holds[byLiveFrom[next]].surelyLiveFromNs < holds[later].grant.startNs {
                        let candidate = byLiveFrom[next]
                        if longest.map({ holds[candidate].surelyLiveUntilNs > holds[$0].surelyLiveUntilNs }) ?? true { longest = candidate }
                        next += 1
                    }
                    guard let earlier = longest, holds[earlier].holdID != holds[later].holdID,
                        holds[later].grant.endNs < holds[earlier].surelyLiveUntilNs
                    else { continue }
                    violations.append(
                        Violation(
                            invariant: .holdExclusive, event: event, seat: seat,
                            message: "\(holds[later].user)'s hold was granted while \(holds[earlier].user)'s hold was live",
                            witnessLines: (holds[earlier].grant.lines + holds[later].grant.lines).sorted()))
                }
            }
        }
        return violations
    }

    /// booking-requires-live-hold (fenced): every `ok` checkout of a seat follows a hold of the
    /// buyer on it, and no other user's hold of that seat was granted between the buyer's hold and
    /// the booking (a checkout that lost its hold while paused must not land; seed race 2).
    static func bookingRequiresLiveHold(_ index: HistoryIndex, _ intervals: [String: [String: [HeldInterval]]]) -> [Violation] {
        var violations: [Violation] = []
        for checkout in index.ok("checkout") {
            for seat in checkout.invoke.strings("seats") {
                let holds = intervals[checkout.event]?[seat] ?? []
                guard let own = holds.last(where: { $0.user == checkout.user && $0.grant.endNs <= checkout.endNs }) else {
                    violations.append(
                        Violation(
                            invariant: .bookingRequiresLiveHold, event: checkout.event, seat: seat,
                            message: "\(checkout.user) booked it without ever holding it", witnessLines: checkout.lines))
                    continue
                }
                // Across a loss of the hot state, holds are gone and fences restart above the old
                // ones; only no-double-booking still holds there (the durable store arbitrates).
                if index.holdsLost(in: own.grant.startNs...max(own.grant.startNs, checkout.endNs)) { continue }
                for other in holds where other.user != checkout.user && other.grant.startNs > own.grant.endNs && other.grant.endNs < checkout.endNs {
                    violations.append(
                        Violation(
                            invariant: .bookingRequiresLiveHold, event: checkout.event, seat: seat,
                            message: "\(checkout.user)'s booking landed although \(other.user) was granted the seat after \(checkout.user)'s hold",
                            witnessLines: (own.grant.lines + other.grant.lines + checkout.lines).sorted()))
                }
            }
        }
        return violations
    }

    /// release-by-owner-only: an `ok` release never releases a seat whose live hold is another
    /// user's while the releaser's own hold of it had already expired; and a subscriber is never
    /// told a seat was `released` by its holder when that holder never asked to release it
    /// (a stale release removed it; seed race 1).
    static func releaseByOwnerOnly(_ index: HistoryIndex, _ intervals: [String: [String: [HeldInterval]]]) -> [Violation] {
        var violations: [Violation] = []
        var releasesBy: [String: [Operation]] = [:]
        for operation in index.operations where operation.f == "release" { releasesBy[operation.user, default: []].append(operation) }
        index.walkSubscriberViews { subscriber, event, record, holders in
            guard record.f == "seat_released", record.string("reason") == "released", let seat = record.string("seat"),
                let owner = holders[seat]
            else { return }
            let ownHolds = Set((intervals[event]?[seat] ?? []).filter { $0.user == owner }.map(\.holdID))
            let asked = (releasesBy[owner] ?? []).contains { release in
                release.event == event && release.startNs <= record.timeNs
                    && (release.invoke.strings("seats").contains(seat) || release.invoke.string("hold").map(ownHolds.contains) == true)
            }
            if !asked {
                violations.append(
                    Violation(
                        invariant: .releaseByOwnerOnly, event: event, seat: seat,
                        message: "\(subscriber) was told \(owner)'s seat was released, but \(owner) never released it",
                        witnessLines: [record.line]))
            }
        }
        for release in index.ok("release") {
            let seats = release.completion!.strings("released")
            for seat in seats {
                let holds = intervals[release.event]?[seat] ?? []
                let ownLive = holds.contains {
                    $0.user == release.user && $0.grant.startNs < release.endNs && ($0.expiresNs ?? .max) > release.startNs
                }
                guard !ownLive else { continue }
                if let other = holds.first(where: {
                    $0.user != release.user && $0.surelyLiveFromNs < release.startNs && $0.surelyLiveUntilNs > release.endNs
                }) {
                    violations.append(
                        Violation(
                            invariant: .releaseByOwnerOnly, event: release.event, seat: seat,
                            message: "\(release.user) released it while it was \(other.user)'s",
                            witnessLines: (other.grant.lines + release.lines).sorted()))
                }
            }
        }
        return violations
    }

    /// capacity: never more booked seats than the venue has, and never more seats surely held by
    /// one user in one event than the cap (when the history's `config` gives them).
    static func capacity(_ index: HistoryIndex, _ intervals: [String: [String: [HeldInterval]]]) -> [Violation] {
        var violations: [Violation] = []
        for (event, read) in index.finalBookings.sorted(by: { $0.key < $1.key }) {
            let booked = Set(read.values.flatMap(\.seats))
            if let seats = index.seatsPerEvent[event], booked.count > seats {
                violations.append(
                    Violation(
                        invariant: .capacity, event: event, seat: nil, message: "\(booked.count) seats booked of \(seats)",
                        witnessLines: Array(Set(read.values.map(\.record.line))).sorted()))
            }
        }
        guard let cap = index.heldSeatsMax else { return violations }
        for (event, seats) in intervals.sorted(by: { $0.key < $1.key }) {
            var edges: [String: [(time: Int64, delta: Int, lines: [Int])]] = [:]
            for interval in seats.values.flatMap({ $0 }) where interval.surelyLiveFromNs < interval.surelyLiveUntilNs {
                edges[interval.user, default: []] += [(interval.surelyLiveFromNs, 1, interval.grant.lines), (interval.surelyLiveUntilNs, -1, [])]
            }
            for (user, userEdges) in edges.sorted(by: { $0.key < $1.key }) {
                var held = 0
                var witnesses: [Int] = []
                for edge in userEdges.sorted(by: { ($0.time, $0.delta) < ($1.time, $1.delta) }) {
                    held += edge.delta
                    witnesses += edge.lines
                    if held > cap {
                        violations.append(
                            Violation(
                                invariant: .capacity, event: event, seat: nil, message: "\(user) held \(held) seats at once; the cap is \(cap)",
                                witnessLines: Array(witnesses.suffix(2 * (cap + 1))).sorted()))
                        break
                    }
                }
            }
        }
        return violations
    }
}
