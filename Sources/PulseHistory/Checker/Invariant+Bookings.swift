/// Invariants about bookings: no-double-booking, idempotent-checkout, durable-ack, capacity (seats).
extension HistoryChecker {
    /// When a booking was surely confirmed: from its first `ok` checkout (or the final read that
    /// shows it) until the invocation of its first cancel that did not fail (an `ok` one, or one
    /// whose answer never came), with the lines that show it.
    struct ConfirmedSpan {
        var fromNs: Int64
        var untilNs: Int64 = .max
        var lines: [Int]
    }

    /// no-double-booking: at most one *confirmed* booking per (event, seat) at any instant,
    /// counting every `ok` checkout and the final read of the durable bookings. A cancelled
    /// booking's seats may be booked again (PB-CHECKOUT-11): two bookings of a seat are a
    /// violation only when both were surely confirmed at one instant.
    static func noDoubleBooking(_ index: HistoryIndex) -> [Violation] {
        var cancels: [String: (startNs: Int64, lines: [Int])] = [:]
        for cancel in index.operations where cancel.f == "cancel" && cancel.completion?.type != .fail {
            guard let id = cancel.invoke.string("booking"), cancel.startNs < cancels[id]?.startNs ?? .max else { continue }
            cancels[id] = (cancel.startNs, cancel.lines)
        }
        var spans: [String: [String: [String: ConfirmedSpan]]] = [:]  // event -> seat -> booking -> span
        func confirmed(_ event: String, _ seats: [String], _ booking: String, from: Int64, lines: [Int], atEnd: Bool) {
            for seat in seats {
                var span = spans[event]?[seat]?[booking] ?? ConfirmedSpan(fromNs: from, lines: [])
                span.fromNs = min(span.fromNs, from)
                span.lines += lines
                if let cancel = cancels[booking], !atEnd, span.untilNs == .max {
                    span.untilNs = cancel.startNs
                    span.lines += cancel.lines
                }
                if atEnd { span.untilNs = .max }  // confirmed in the final read: whatever a cancel answered
                spans[event, default: [:]][seat, default: [:]][booking] = span
            }
        }
        for checkout in index.ok("checkout") {
            guard let booking = checkout.completion?.string("booking") else { continue }
            confirmed(checkout.event, checkout.seats, booking, from: checkout.endNs, lines: checkout.lines, atEnd: false)
        }
        for (event, read) in index.finalBookings {
            for (booking, entry) in read {
                confirmed(event, entry.seats, booking, from: entry.record.timeNs, lines: [entry.record.line], atEnd: true)
            }
        }
        var violations: [Violation] = []
        for (event, seats) in spans.sorted(by: { $0.key < $1.key }) {
            for (seat, byBooking) in seats.sorted(by: { $0.key < $1.key }) where byBooking.count > 1 {
                let sorted = byBooking.sorted { $0.key < $1.key }
                var overlapping: Set<String> = []
                for (i, a) in sorted.enumerated() {
                    for b in sorted[(i + 1)...] where max(a.value.fromNs, b.value.fromNs) < min(a.value.untilNs, b.value.untilNs) {
                        overlapping.formUnion([a.key, b.key])
                    }
                }
                guard !overlapping.isEmpty else { continue }
                violations.append(
                    Violation(
                        invariant: .noDoubleBooking, event: event, seat: seat,
                        message: "booked by \(overlapping.count) bookings confirmed at once: \(overlapping.sorted().joined(separator: ", "))",
                        witnessLines: Array(Set(overlapping.flatMap { byBooking[$0]!.lines })).sorted()))
            }
        }
        return violations
    }

    /// idempotent-checkout: `ok` checkouts of one user with one `Idempotency-Key` all name the same booking.
    static func idempotentCheckout(_ index: HistoryIndex) -> [Violation] {
        var byKey: [String: [Operation]] = [:]
        for checkout in index.ok("checkout") {
            guard let key = checkout.invoke.string("key") else { continue }
            byKey["\(checkout.user)\u{0}\(key)", default: []].append(checkout)
        }
        return byKey.keys.sorted().compactMap { key in
            let checkouts = byKey[key]!
            let ids = Set(checkouts.compactMap { $0.completion?.string("booking") })
            guard ids.count > 1 else { return nil }
            return Violation(
                invariant: .idempotentCheckout, event: checkouts[0].event, seat: nil,
                message: "user \(checkouts[0].user) got \(ids.count) bookings for one Idempotency-Key: \(ids.sorted().joined(separator: ", "))",
                witnessLines: checkouts.flatMap(\.lines).sorted())
        }
    }

    /// durable-ack: every booking acknowledged with `ok` is in the final read of its event
    /// (cancelled, if a cancel of it may have happened); every cancellation acknowledged with `ok`
    /// shows in the final read (the booking cancelled, not confirmed); and no booking is cancelled
    /// in the final read that nobody asked to cancel.
    static func durableAck(_ index: HistoryIndex) -> [Violation] {
        var violations: [Violation] = []
        var cancelAttempts: [String: [Operation]] = [:]
        for cancel in index.operations where cancel.f == "cancel" {
            if let booking = cancel.invoke.string("booking") { cancelAttempts[booking, default: []].append(cancel) }
        }
        for checkout in index.ok("checkout") {
            guard let booking = checkout.completion?.string("booking"), let read = index.finalBookings[checkout.event], read[booking] == nil,
                index.finalCancelled[checkout.event]?[booking] == nil
            else { continue }
            let readLine = read.values.first?.record.line
            violations.append(
                Violation(
                    invariant: .durableAck, event: checkout.event, seat: nil,
                    message: "booking \(booking) was acknowledged to \(checkout.process) but is not in the final read",
                    witnessLines: checkout.lines + (readLine.map { [$0] } ?? [])))
        }
        for cancel in index.ok("cancel") {
            guard let booking = cancel.invoke.string("booking"), let entry = index.finalBookings[cancel.event]?[booking] else { continue }
            violations.append(
                Violation(
                    invariant: .durableAck, event: cancel.event, seat: entry.seats.first,
                    message: "the cancellation of booking \(booking) was acknowledged to \(cancel.process) but the final read shows it confirmed",
                    witnessLines: cancel.lines + [entry.record.line]))
        }
        for (event, cancelled) in index.finalCancelled.sorted(by: { $0.key < $1.key }) {
            for (booking, entry) in cancelled.sorted(by: { $0.key < $1.key })
            where !(cancelAttempts[booking] ?? []).contains(where: { $0.completion?.type != .fail }) {
                violations.append(
                    Violation(
                        invariant: .durableAck, event: event, seat: entry.seats.first,
                        message: "booking \(booking) is cancelled in the final read, but no cancel of it may have succeeded",
                        witnessLines: (cancelAttempts[booking] ?? []).flatMap(\.lines) + [entry.record.line]))
            }
        }
        return violations
    }
}
