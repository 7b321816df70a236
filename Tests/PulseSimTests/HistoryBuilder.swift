import PulseHistory

@testable import PulseSim

/// Writes small histories for the checker tests: times in milliseconds, records in order.
struct HistoryBuilder {
    var records: [HistoryRecord] = []

    mutating func add(
        _ ms: Int64, _ process: String, _ type: HistoryRecord.Kind, _ f: String, _ value: [String: HistoryValue] = [:], error: String? = nil
    ) {
        let index = records.count
        records.append(
            HistoryRecord(index: index, timeNs: ms * 1_000_000, process: process, type: type, f: f, value: value, error: error, line: index + 1))
    }

    mutating func hold(_ user: String, _ seats: [String], id: String, invoke: Int64, ok: Int64, expires: Int64, fence: Int64 = 1) {
        add(invoke, user, .invoke, "hold", ["event": "e", "seats": .array(seats.map { .string($0) })])
        add(
            ok, user, .ok, "hold",
            [
                "event": "e", "seats": .array(seats.map { .string($0) }), "hold": .string(id), "fence": .int(fence),
                "expires_at_ns": .int(expires * 1_000_000),
            ])
    }

    mutating func checkout(_ user: String, _ seats: [String], booking: String?, invoke: Int64, end: Int64, key: String? = nil) {
        var args: [String: HistoryValue] = ["event": "e", "seats": .array(seats.map { .string($0) })]
        if let key { args["key"] = .string(key) }
        add(invoke, user, .invoke, "checkout", args)
        if let booking {
            add(end, user, .ok, "checkout", ["event": "e", "seats": .array(seats.map { .string($0) }), "booking": .string(booking)])
        } else {
            add(end, user, .fail, "checkout", ["event": "e"], error: "hold_required")
        }
    }

    mutating func see(
        _ ms: Int64, _ subscriber: String, _ f: String, seq: Int64?, seat: String? = nil, seats: [String]? = nil, user: String? = nil,
        reason: String? = nil
    ) {
        var value: [String: HistoryValue] = ["event": "e"]
        if let seq { value["seq"] = .int(seq) }
        if let seat { value["seat"] = .string(seat) }
        if let seats { value["seats"] = .array(seats.map { .string($0) }) }
        if let user { value["user"] = .string(user) }
        if let reason { value["reason"] = .string(reason) }
        add(ms, subscriber, .observe, f, value)
    }

    mutating func snapshot(_ ms: Int64, _ subscriber: String, seq: Int64?, booked: [String] = [], locked: [String: String] = [:]) {
        var value: [String: HistoryValue] = [
            "event": "e", "booked": .array(booked.map { .string($0) }), "locked": .object(locked.mapValues { .string($0) }),
        ]
        if let seq { value["seq"] = .int(seq) }
        add(ms, subscriber, .observe, "snapshot", value)
    }

    /// The violations found, as `invariant: message` lines.
    var messages: [String] { HistoryChecker.check(records).map { "\($0.invariant.rawValue): \($0.message)" } }

    mutating func finalBookings(_ ms: Int64, _ bookings: [(id: String, user: String, seats: [String])]) {
        add(
            ms, "harness", .observe, "final_bookings",
            [
                "event": "e",
                "bookings": .array(
                    bookings.map { booking in
                        .object(["booking": .string(booking.id), "user": .string(booking.user), "seats": .array(booking.seats.map { .string($0) })])
                    }),
            ])
    }

    /// A cancel of `booking` (its seats in the `ok`), answered `ok`, or `fail`/`info` with `outcome`.
    mutating func cancel(_ user: String, booking: String, seats: [String], invoke: Int64, end: Int64, outcome: HistoryRecord.Kind = .ok) {
        add(invoke, user, .invoke, "cancel", ["event": "e", "booking": .string(booking)])
        if outcome == .ok {
            add(end, user, .ok, "cancel", ["event": "e", "booking": .string(booking), "seats": .array(seats.map { .string($0) })])
        } else {
            add(end, user, outcome, "cancel", ["event": "e"], error: outcome == .fail ? "booking_not_found" : "timeout")
        }
    }

    /// A final read whose bookings each have a status.
    mutating func finalBookings(_ ms: Int64, statuses bookings: [(id: String, user: String, seats: [String], status: String)]) {
        add(
            ms, "harness", .observe, "final_bookings",
            [
                "event": "e",
                "bookings": .array(
                    bookings.map { booking in
                        .object([
                            "booking": .string(booking.id), "user": .string(booking.user), "seats": .array(booking.seats.map { .string($0) }),
                            "status": .string(booking.status),
                        ])
                    }),
            ])
    }

    /// The invariants the checker reports, in order, without repeats.
    var brokenInvariants: [Invariant] {
        var seen: [Invariant] = []
        for violation in HistoryChecker.check(records) where !seen.contains(violation.invariant) { seen.append(violation.invariant) }
        return seen
    }
}
