/// Invariants about what subscribers see: broadcast-order and expiry-honoured.
extension HistoryChecker {
    /// broadcast-order: per subscriber and event, numbered changes follow the snapshot with
    /// contiguous seqs; every subscriber sees the same change at a given seq; each change is a
    /// possible transition of the seat it names in the subscriber's own view (a release of a seat
    /// that was not held is a lie; seed race 4); and no view shows a seat booked that the final
    /// read does not have, nor, for a subscriber that heard the event's last change, a seat free
    /// that the final read has booked. `seats_released` (a cancellation) frees booked seats only.
    /// `event_deleted` takes a seq like any change and is the event's last:
    /// anything numbered after it is flagged. A stream without seqs (seed race 6) is flagged once, and its changes are
    /// still checked as transitions in the order they arrived (what its browser shows).
    static func broadcastOrder(_ index: HistoryIndex) -> [Violation] {
        var violations: [Violation] = []
        var seen: [String: [Int64: (signature: String, line: Int)]] = [:]
        // The newest seq anyone heard per event: a stream that reached it has heard the whole story.
        var lastSeq: [String: Int64] = [:]
        for (_, events) in index.observations {
            for (event, stream) in events {
                for record in stream { if let seq = record.int("seq") { lastSeq[event] = max(lastSeq[event] ?? seq, seq) } }
            }
        }
        for (subscriber, events) in index.observations.sorted(by: { $0.key < $1.key }) {
            for (event, stream) in events.sorted(by: { $0.key < $1.key }) {
                var last: Int64?
                var view: [String: String]?
                var unnumbered = false
                var deletedAt: HistoryRecord?
                func flag(_ seat: String?, _ message: String, _ lines: [Int]) {
                    violations.append(
                        Violation(invariant: .broadcastOrder, event: event, seat: seat, message: "\(subscriber): \(message)", witnessLines: lines))
                }
                func flagUnnumbered(_ record: HistoryRecord) {
                    guard !unnumbered else { return }
                    unnumbered = true
                    flag(record.string("seat"), "\(record.f) without seq: this stream's order and gaps cannot be verified", [record.line])
                }
                for record in stream {
                    switch record.f {
                    case "snapshot":
                        if let seq = record.int("seq") {
                            if let last, seq < last { flag(nil, "a snapshot at seq \(seq) after seq \(last)", [record.line]) }
                            last = seq
                        } else {
                            flagUnnumbered(record)
                        }
                        var fresh: [String: String] = [:]
                        for seat in record.strings("booked") { fresh[seat] = "booked" }
                        for (seat, user) in record.value["locked"]?.object ?? [:] { fresh[seat] = "held by \(user.string ?? "?")" }
                        view = fresh
                    case "joined":
                        if let seq = record.int("seq"), let last, seq != last {
                            flag(nil, "joined at seq \(seq) after replaying up to \(last)", [record.line])
                        }
                    case "seat_locked", "seat_released", "seats_booked", "seats_released", "event_deleted":
                        if let deletedAt {
                            flag(record.string("seat"), "\(record.f) after the event was deleted", [deletedAt.line, record.line])
                            continue
                        }
                        let seats = record.string("seat").map { [$0] } ?? record.strings("seats")
                        if let seq = record.int("seq") {
                            if let last, seq != last + 1 { flag(record.string("seat"), "seq \(seq) arrived after seq \(last)", [record.line]) }
                            last = seq
                            let signature =
                                "\(record.f) \(seats.joined(separator: ",")) \(record.string("user") ?? "") \(record.string("reason") ?? "")"
                            if let other = seen[event]?[seq], other.signature != signature {
                                flag(seats.first, "seq \(seq) is '\(signature)' here but '\(other.signature)' elsewhere", [other.line, record.line])
                            } else {
                                seen[event, default: [:]][seq] = (signature, record.line)
                            }
                        } else {
                            flagUnnumbered(record)
                        }
                        if record.f == "event_deleted" {
                            deletedAt = record
                            view = view.map { $0.filter { $0.value == "booked" } }  // its holds went with it
                            continue
                        }
                        guard var current = view else { continue }
                        for seat in seats {
                            switch (record.f, current[seat]) {
                            case ("seat_locked", nil): current[seat] = "held by \(record.string("user") ?? "?")"
                            case ("seat_released", let state?) where state.hasPrefix("held"): current[seat] = nil
                            case ("seats_booked", let state) where state != "booked": current[seat] = "booked"
                            case ("seats_released", "booked"?): current[seat] = nil
                            case (_, let state): flag(seat, "\(record.f) of a seat that was \(state ?? "available")", [record.line])
                            }
                        }
                        view = current
                    default:
                        continue
                    }
                }
                if let view, let read = index.finalBookings[event] ?? index.finalCancelled[event].map({ _ in [:] }) {
                    let durable = Set(read.values.flatMap(\.seats))
                    let readLines = Array(Set((read.values.map(\.record.line)) + (index.finalCancelled[event]?.values.map(\.record.line) ?? [])))
                    for seat in view.filter({ $0.value == "booked" }).keys.sorted() where !durable.contains(seat) {
                        flag(seat, "shown booked but not booked in the final read", [stream.last!.line] + readLines)
                    }
                    if deletedAt == nil, let last, last == lastSeq[event] {
                        for seat in durable.sorted() where view[seat] != "booked" {
                            flag(
                                seat, "shown \(view[seat] ?? "available") at the event's last seq \(last) but booked in the final read",
                                [stream.last!.line] + readLines)
                        }
                    }
                }
            }
        }
        return violations
    }

    /// expiry-honoured: a hold is never reported expired before its expiry (the hold taken to have
    /// expired is, of the holds of the user the subscriber was told holds the seat, granted before
    /// the report and not yet reported, the one expiring first; no report is judged while a hold
    /// of that user may have been granted unseen: unanswered, or its request sent twice), and a hold nobody
    /// released or checked out is reported gone (released, booked, or absent from a snapshot)
    /// to every subscriber still listening within the grace after its expiry (or after its grant,
    /// for a hold granted already expired).
    static func expiryHonoured(_ index: HistoryIndex, _ intervals: [String: [String: [HeldInterval]]]) -> [Violation] {
        var violations: [Violation] = []
        // event -> subscriber -> seat -> times the seat was shown as no longer held.
        var gone: [String: [String: [String: [Int64]]]] = [:]
        var lastHeard: [String: [String: Int64]] = [:]
        var reported: Set<String> = []  // "subscriber event hold seat" whose expiry the subscriber was told already
        // "user event seat" -> first invocation of a hold of it whose answer never came, or whose
        // request was sent twice (the copy's answer reached nobody): it may have been granted
        // unseen, and its expiry may be the one reported.
        var unanswered: [String: Int64] = [:]
        for operation in index.operations where operation.f == "hold" && (operation.isIndeterminate || index.isDuplicated(operation)) {
            for seat in operation.invoke.strings("seats") {
                let key = "\(operation.user) \(operation.event) \(seat)"
                unanswered[key] = min(unanswered[key] ?? .max, operation.startNs)
            }
        }
        index.walkSubscriberViews { subscriber, event, record, holders in
            lastHeard[event, default: [:]][subscriber] = record.timeNs
            switch record.f {
            case "seat_released", "seats_booked":
                for seat in record.string("seat").map({ [$0] }) ?? record.strings("seats") {
                    gone[event, default: [:]][subscriber, default: [:]][seat, default: []].append(record.timeNs)
                    // The expired hold is, of the holder's holds on the seat granted before this
                    // report and not reported expired yet, the one that expires first.
                    guard record.f == "seat_released", record.string("reason") == "expired", let user = holders[seat],
                        (unanswered["\(user) \(event) \(seat)"] ?? .max) > record.timeNs,
                        let hold = intervals[event]?[seat]?
                            .filter({
                                $0.user == user && ($0.grant.completionLine ?? .max) < record.line
                                    && !reported.contains("\(subscriber) \(event) \($0.holdID) \(seat)")
                            })
                            .min(by: { ($0.expiresNs ?? .max) < ($1.expiresNs ?? .max) })
                    else { continue }
                    reported.insert("\(subscriber) \(event) \(hold.holdID) \(seat)")
                    // A hold its owner already ended (a checkout whose lease ran out is released
                    // as expired) is not held to its TTL.
                    guard hold.endedByNs.map({ $0 > record.timeNs }) ?? true, let expires = hold.expiresNs, record.timeNs < expires else { continue }
                    violations.append(
                        Violation(
                            invariant: .expiryHonoured, event: event, seat: seat,
                            message: "\(subscriber) was told \(user)'s hold expired \((expires - record.timeNs) / 1_000_000) ms before its expiry",
                            witnessLines: hold.grant.lines + [record.line]))
                }
            case "snapshot":
                let locked = record.value["locked"]?.object ?? [:]
                for seat in (intervals[event] ?? [:]).keys where locked[seat] == nil {
                    gone[event, default: [:]][subscriber, default: [:]][seat, default: []].append(record.timeNs)
                }
            default:
                return
            }
        }
        for (event, seats) in intervals.sorted(by: { $0.key < $1.key }) {
            for (seat, holds) in seats.sorted(by: { $0.key < $1.key }) {
                for hold in holds where hold.endedByNs == nil && !hold.expiryUncertain {
                    guard let expires = hold.expiresNs else { continue }
                    // A request paused after reading the server's clock may be granted a hold that has
                    // already expired: its expiry is due right after the grant.
                    let deadline = max(expires, hold.grant.endNs) + index.expiryGraceNs
                    for (subscriber, heard) in (lastHeard[event] ?? [:]).sorted(by: { $0.key < $1.key }) {
                        let ownDeadline = index.deliveryDeadline(of: subscriber, from: max(expires, hold.grant.endNs), deadline: deadline)
                        guard heard >= ownDeadline else { continue }
                        let told = gone[event]?[subscriber]?[seat]?.contains { $0 >= hold.grant.startNs && $0 <= ownDeadline } ?? false
                        if !told {
                            violations.append(
                                Violation(
                                    invariant: .expiryHonoured, event: event, seat: seat,
                                    message: "\(subscriber) was never told that \(hold.user)'s hold expired",
                                    witnessLines: hold.grant.lines))
                        }
                    }
                }
            }
        }
        return violations
    }
}
