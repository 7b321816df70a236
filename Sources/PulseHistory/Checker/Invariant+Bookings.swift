/// Invariants about bookings: no-double-booking, idempotent-checkout, durable-ack, capacity (seats).
extension HistoryChecker {
    /// no-double-booking: at most one booking per (event, seat), counting every `ok` checkout and
    /// the final read of the durable bookings.
    static func noDoubleBooking(_ index: HistoryIndex) -> [Violation] {
        var bookings: [String: [String: [String: [Int]]]] = [:] // event -> seat -> booking -> lines
        for checkout in index.ok("checkout") {
            guard let booking = checkout.completion?.string("booking") else { continue }
            let seats = checkout.completion!.strings("seats").isEmpty ? checkout.invoke.strings("seats") : checkout.completion!.strings("seats")
            for seat in seats { bookings[checkout.event, default: [:]][seat, default: [:]][booking, default: []] += checkout.lines }
        }
        for (event, read) in index.finalBookings {
            for (booking, entry) in read {
                for seat in entry.seats { bookings[event, default: [:]][seat, default: [:]][booking, default: []].append(entry.record.line) }
            }
        }
        var violations: [Violation] = []
        for (event, seats) in bookings.sorted(by: { $0.key < $1.key }) {
            for (seat, byBooking) in seats.sorted(by: { $0.key < $1.key }) where byBooking.count > 1 {
                violations.append(Violation(invariant: .noDoubleBooking, event: event, seat: seat,
                                            message: "booked by \(byBooking.count) bookings: \(byBooking.keys.sorted().joined(separator: ", "))",
                                            witnessLines: byBooking.values.flatMap { $0 }.sorted()))
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
            return Violation(invariant: .idempotentCheckout, event: checkouts[0].event, seat: nil,
                             message: "user \(checkouts[0].user) got \(ids.count) bookings for one Idempotency-Key: \(ids.sorted().joined(separator: ", "))",
                             witnessLines: checkouts.flatMap(\.lines).sorted())
        }
    }

    /// durable-ack: every booking acknowledged with `ok` is in the final read of its event.
    static func durableAck(_ index: HistoryIndex) -> [Violation] {
        index.ok("checkout").compactMap { checkout in
            guard let booking = checkout.completion?.string("booking"), let read = index.finalBookings[checkout.event], read[booking] == nil else { return nil }
            let readLine = read.values.first?.record.line
            return Violation(invariant: .durableAck, event: checkout.event, seat: nil,
                             message: "booking \(booking) was acknowledged to \(checkout.process) but is not in the final read",
                             witnessLines: checkout.lines + (readLine.map { [$0] } ?? []))
        }
    }
}
