import Foundation
import Synchronization

/// A history cut into one list of operations per seat (P-compositionality: a history is
/// linearizable when each seat's is). A multi-seat operation appears in the list of each of its
/// seats; that its seats changed together is not checked here.
struct SeatHistories {
    /// event -> seat -> its operations and reads.
    var seats: [String: [String: [SeatOperation]]] = [:]
    /// Events the model cannot judge, with why: their seats are `unknown`.
    var unjudged: [String: String] = [:]
    /// Instants at which every hold may have vanished: hot state lost, server crashed.
    var lossesNs: [Int64] = []

    /// `partSize`: operations per part of the passes that run in parallel (the lists are the
    /// same whatever it is).
    init(_ index: HistoryIndex, partSize: Int = 4_096) {
        // The operations are only ever borrowed here, through a buffer pointer: copying one
        // retains both its records, which on a big history costs more than all the rest.
        self = index.operations.withUnsafeBufferPointer { Self(index, $0, partSize: partSize) }
    }

    private init(_ index: HistoryIndex, _ operations: UnsafeBufferPointer<Operation>, partSize: Int) {
        // The passes over every operation run in consecutive parts, in parallel; each part's
        // lists join the others' in operation order, so the result never depends on the cores.
        var lookups = Lookups(
            universe: Self.inParts(operations.count, partSize) { part in Self.seatsSeen(operations, part) }
                .reduce(into: Self.seatsObserved(index)) { seen, part in seen.merge(part) { $0.union($1) } })
        lookups.universe[""] = nil
        for position in index.records.indices where index.records[position].type == .fault {
            let record = index.records[position]
            switch record.f {
            case "hot_state_loss", "server_crash": lossesNs.append(record.timeNs)
            case "failover":
                // A replica behind its master may bring back holds and releases the history
                // places before the failover: no seat state can be assumed across it.
                for event in lookups.universe.keys { unjudged[event] = "a Redis failover may have brought back state from before it" }
            case "pause":
                if let process = record.string("process") { lookups.paused[process, default: []].append((record.timeNs, record.int("ms") ?? 0)) }
            case "clock_jump": lookups.clockJumped = true
            default: continue
            }
        }
        lookups.lossesNs = lossesNs
        guard let first = operations.baseAddress else {  // no operations: only what subscribers saw
            addReads(index, universe: lookups.universe)
            return
        }
        for position in operations.indices where (first + position).pointee.completion?.type == .ok {
            lookups.learn(first + position)
        }
        for final in index.finalBookings.values.flatMap(\.self) + index.finalCancelled.values.flatMap(\.self)
        where lookups.bookings[final.key] == nil {
            lookups.bookings[final.key] = final.value.seats
        }
        // Operations of one booking share a group number, in order of first sight.
        for position in operations.indices where (first + position).pointee.f == "checkout" {
            if let booking = lookups.booking(of: first + position), lookups.groups[booking] == nil {
                lookups.groups[booking] = lookups.groups.count
            }
        }
        let found = lookups
        let parts = Self.inParts(operations.count, partSize) { part in
            var lists: [String: [String: [SeatOperation]]] = [:]
            for position in part { Self.add(first + position, index, found, to: &lists) }
            return lists
        }
        for part in parts {
            for (event, seatsOfEvent) in part {
                for (seat, list) in seatsOfEvent { seats[event, default: [:]][seat, default: []].append(contentsOf: list) }
            }
        }
        addReads(index, universe: lookups.universe)
    }

    /// `body` on `0..<count` cut into consecutive parts, the parts in parallel; the results in
    /// part order.
    private static func inParts<T>(_ count: Int, _ partSize: Int, _ body: (Range<Int>) -> T) -> [T] {
        let parts = max(1, min(64, count / max(1, partSize)))
        var results = [T?](repeating: nil, count: parts)
        results.withUnsafeMutableBufferPointer { results in
            // Each part writes only its own slot.
            nonisolated(unsafe) let slots = results
            withoutActuallyEscaping(body) { body in
                nonisolated(unsafe) let body = body
                DispatchQueue.concurrentPerform(iterations: parts) { part in
                    slots[part] = body(part * count / parts..<(part + 1) * count / parts)
                }
            }
        }
        return results.map { $0! }
    }

    /// What the operations of a history say about each other: the seats of each hold and
    /// booking, the booking each Idempotency-Key made, the faults that touch one process.
    private struct Lookups {
        /// Every seat of each event the history names anywhere.
        var universe: [String: Set<String>]
        var clockJumped = false
        var paused: [String: [(atNs: Int64, ms: Int64)]] = [:]
        var holds: [String: (seats: [String], user: String)] = [:]
        var bookings: [String: [String]] = [:]
        var keyedBookings: [String: String] = [:]
        /// Operations of one booking (one Idempotency-Key) share a group number.
        var groups: [String: Int] = [:]
        /// Instants at which every hold may have vanished.
        var lossesNs: [Int64] = []

        init(universe: [String: Set<String>]) { self.universe = universe }

        /// Learns the seats of an `ok` hold or checkout.
        mutating func learn(_ operation: OperationRef) {
            let seats = operation.pointee.seats
            if operation.pointee.f == "hold", let hold = operation.answer("hold")?.string { holds[hold] = (seats, operation.user) }
            if operation.pointee.f == "checkout", let booking = operation.answer("booking")?.string {
                bookings[booking] = seats
                if let key = operation.request("key")?.string { keyedBookings[operation.user + "\u{0}" + key] = booking }
            }
        }

        /// The booking a checkout made or would have made: its answer's, else the one its
        /// Idempotency-Key made.
        func booking(of operation: OperationRef) -> String? {
            if operation.pointee.completion?.type == .ok { return operation.answer("booking")?.string }
            guard let key = operation.request("key")?.string else { return nil }
            return keyedBookings[operation.user + "\u{0}" + key]
        }

        /// How far behind the server's clock may have been for `operation`: the longest stall of
        /// its process (`pause` faults) while it was under way.
        func lag(of operation: OperationRef) -> Int64 {
            guard !paused.isEmpty, let pauses = paused[operation.pointee.process] else { return 0 }
            var longest: Int64 = 0
            for pause in pauses where operation.startNs <= pause.atNs && pause.atNs <= operation.endNs { longest = max(longest, pause.ms) }
            return longest * 1_000_000
        }
    }

    /// Adds what one operation did or read to the lists of the seats it touched.
    private static func add(
        _ operation: OperationRef, _ index: HistoryIndex, _ lookups: Lookups, to lists: inout [String: [String: [SeatOperation]]]
    ) {
        let event = operation.pointee.event
        let ok = operation.pointee.completion?.type == .ok
        var seats = operation.pointee.seats
        var effects: [SeatEffect] = []
        var booking: String?
        let failedAtNs = operation.pointee.completion?.type == .fail ? operation.pointee.completion?.timeNs : nil
        switch operation.pointee.f {
        case "hold":
            if let failedAtNs {
                // A refused hold whose request was sent twice: its copy may have been granted,
                // whenever it arrived, its id and expiry never told.
                if index.isDuplicated(operation.pointee) {
                    for seat in seats {
                        lists[event, default: [:]][seat, default: []].append(
                            SeatOperation(
                                effects: [.hold(user: operation.user, hold: nil, expiresNs: nil)], invokeNs: operation.startNs,
                                completeNs: .max, required: false, clockLagNs: lookups.lag(of: operation),
                                process: operation.pointee.process, f: "hold", lines: operation.lines))
                    }
                }
                // A hold of one seat refused as unavailable read the seat taken (held or
                // booked) at some instant before the refusal; other refusals say nothing of it.
                guard operation.pointee.completion?.error == "seat_unavailable", seats.count == 1 else { return }
                lists[event, default: [:]][seats[0], default: []].append(
                    SeatOperation(
                        effects: [.read(.taken)], invokeNs: operation.startNs, completeNs: failedAtNs, required: true,
                        clockLagNs: lookups.lag(of: operation), process: operation.pointee.process, f: "hold refused", lines: operation.lines))
                return
            }
            let expires =
                lookups.clockJumped
                ? nil : index.historyTime(serverNs: operation.answer("expires_at_ns")?.int, at: operation.pointee.completion?.timeNs ?? 0)
            effects =
                ok
                ? [.hold(user: operation.user, hold: operation.answer("hold")?.string, expiresNs: expires)]
                : [.hold(user: operation.user, hold: nil, expiresNs: nil)]
        case "release":
            let hold = operation.request("hold")?.string
            if ok, let released = operation.answer("released")?.strings {
                seats = released
            } else if let hold, let held = lookups.holds[hold] {
                seats = Array(Set(seats + held.seats))
            }
            effects = [.release(user: operation.user, hold: hold)]
        case "extend":
            guard let hold = operation.request("hold")?.string else { return }
            seats = lookups.holds[hold]?.seats ?? []
            let expires =
                lookups.clockJumped || !ok
                ? nil : index.historyTime(serverNs: operation.answer("expires_at_ns")?.int, at: operation.pointee.completion?.timeNs ?? 0)
            effects = [.extend(hold: hold, expiresNs: expires)]
        case "checkout":
            let user = operation.user
            booking = lookups.booking(of: operation)
            effects = ok ? [.checkout(user: user, booking: booking)] : [.checkout(user: user, booking: booking), .freeze(user: user)]
            let (start, end) = (operation.startNs, ok ? operation.endNs : (failedAtNs ?? .max))
            if lookups.lossesNs.contains(where: { start <= $0 && $0 <= end }) {
                effects.append(.checkoutAcrossLoss(user: user, booking: booking))
            }
        case "cancel":
            guard let cancelled = operation.answer("booking")?.string ?? operation.request("booking")?.string else { return }
            if seats.isEmpty { seats = lookups.bookings[cancelled] ?? [] }
            effects = [.cancel(booking: cancelled)]
        case "browse":
            // A seat map read says which seats it showed free when it lists them (a count of
            // free seats says nothing of any one seat).
            guard ok, let shown = operation.answer("free")?.strings else { return }
            let free = Set(shown)
            let (seq, lag) = (operation.answer("seq")?.int, lookups.lag(of: operation))
            for seat in (lookups.universe[event] ?? []).sorted() {
                lists[event, default: [:]][seat, default: []].append(
                    SeatOperation(
                        effects: [.read(free.contains(seat) ? .free : .taken)], invokeNs: operation.startNs, completeNs: operation.endNs,
                        required: true, seq: seq, clockLagNs: lag, process: operation.pointee.process, f: "browse", lines: operation.lines))
            }
            return
        default:
            return
        }
        let taken = SeatOperation(
            effects: effects, invokeNs: operation.startNs, completeNs: ok ? operation.endNs : (failedAtNs ?? .max), required: ok,
            bookingGroup: booking.flatMap { lookups.groups[$0] },
            clockLagNs: lookups.lag(of: operation), process: operation.pointee.process, f: operation.pointee.f, lines: operation.lines)
        // A failure may have taken effect before it was answered (a failed checkout may have
        // frozen its hold first); an operation never answered (`info`), at any time after
        // its request, even after the client stopped waiting. A duplicated request may have
        // taken effect a second time, whenever it arrived.
        var copies = [taken]
        if index.isDuplicated(operation.pointee) {
            var twice = taken
            twice.required = false
            twice.completeNs = .max
            // The second copy of a hold is a hold of its own: its id and expiry were never told.
            twice.effects = effects.map { effect in
                switch effect {
                case .hold(let user, _, _): .hold(user: user, hold: nil, expiresNs: nil)
                case .extend(let hold, _): .extend(hold: hold, expiresNs: nil)
                default: effect
                }
            }
            copies.append(twice)
        }
        for seat in seats {
            lists[event, default: [:]][seat, default: []].append(contentsOf: copies)
        }
    }

    /// Live messages and final reads, as reads of the seats they speak of.
    private mutating func addReads(_ index: HistoryIndex, universe: [String: Set<String>]) {
        // In name order, so that the same history gives the same search and the same words.
        for (subscriber, events) in index.observations.sorted(by: { $0.key < $1.key }) {
            for (event, stream) in events.sorted(by: { $0.key < $1.key }) {
                for record in stream {
                    let views: [(String, SeatView)]
                    switch record.f {
                    case "snapshot":
                        let locked = (record.value["locked"]?.object ?? [:]).compactMapValues(\.string)
                        let booked = Set(record.strings("booked"))
                        views = (universe[event] ?? []).map { seat in
                            (seat, locked[seat].map { .heldBy($0) } ?? (booked.contains(seat) ? .booked : .free))
                        }
                    case "seat_locked":
                        views = [(record.string("seat") ?? "", .heldBy(record.string("user") ?? ""))]
                    case "seat_released":
                        views = [(record.string("seat") ?? "", .free)]
                    case "seats_booked":
                        views = record.strings("seats").map { ($0, .booked) }
                    case "seats_released":
                        views = record.strings("seats").map { ($0, .free) }
                    case "event_deleted":
                        unjudged[event] = "the event was deleted (its seats' end is not modelled)"
                        continue
                    default:
                        continue
                    }
                    for (seat, view) in views {
                        seats[event, default: [:]][seat, default: []].append(
                            SeatOperation(
                                effects: [.read(view)], invokeNs: .min, completeNs: record.timeNs, required: true, seq: record.int("seq"),
                                clockLagNs: .max, process: subscriber, f: record.f, lines: [record.line]))
                    }
                }
            }
        }
        for (event, seatsOfEvent) in universe.sorted(by: { $0.key < $1.key }) {
            guard let bookings = index.finalBookings[event] else { continue }
            var booked: [String: (String, HistoryRecord)] = [:]
            for (booking, entry) in bookings.sorted(by: { $0.key < $1.key }) { for seat in entry.seats { booked[seat] = (booking, entry.record) } }
            guard let record = bookings.first?.value.record ?? index.records.first(where: { $0.f == "final_bookings" && $0.string("event") == event })
            else { continue }
            for seat in seatsOfEvent.sorted() {
                let view: SeatView = booked[seat].map { .bookedAs($0.0) } ?? .notBooked
                seats[event, default: [:]][seat, default: []].append(
                    SeatOperation(
                        effects: [.read(view)], invokeNs: record.timeNs, completeNs: record.timeNs, required: true, process: record.process,
                        f: "final_bookings", lines: [record.line]))
            }
        }
    }

    /// Every seat of each event that the operations of `part` name.
    private static func seatsSeen(_ operations: UnsafeBufferPointer<Operation>, _ part: Range<Int>) -> [String: Set<String>] {
        var seen: [String: Set<String>] = [:]
        for position in part {
            let operation = operations.baseAddress! + position
            seen[operation.pointee.event, default: []].formUnion(operation.pointee.seats)
            // The other seats an answer names (HISTORY.md): a release's `released`, a map's `free`.
            let others = operation.pointee.f == "release" ? "released" : operation.pointee.f == "browse" ? "free" : nil
            if let others, let named = operation.answer(others)?.strings { seen[operation.pointee.event, default: []].formUnion(named) }
        }
        return seen
    }

    /// Every seat of each event that a live message or a final read names.
    private static func seatsObserved(_ index: HistoryIndex) -> [String: Set<String>] {
        var seen: [String: Set<String>] = [:]
        for events in index.observations.values {
            for (event, stream) in events {
                for record in stream {
                    seen[event, default: []].formUnion(
                        record.strings("seats") + record.strings("booked") + (record.string("seat").map { [$0] } ?? []))
                    seen[event, default: []].formUnion((record.value["locked"]?.object ?? [:]).keys)
                }
            }
        }
        for (event, bookings) in index.finalBookings { for entry in bookings.values { seen[event, default: []].formUnion(entry.seats) } }
        return seen
    }
}

/// An operation read in place. Copying an ``Operation`` retains both its records, which on a big
/// history costs more than everything else the per-seat lists need; a pointer into the index's
/// operations reads only the fields it is asked for.
typealias OperationRef = UnsafePointer<Operation>

extension UnsafePointer where Pointee == Operation {
    /// A field of its answer; nil without an answer.
    func answer(_ key: String) -> HistoryValue? { pointee.completion?.value[key] }
    /// A field of its request.
    func request(_ key: String) -> HistoryValue? { pointee.invoke.value[key] }
    var startNs: Int64 { pointee.invoke.timeNs }
    var endNs: Int64 { pointee.completion?.timeNs ?? .max }
    var user: String { Operation.user(of: pointee.process) }
    var lines: [Int] {
        if let line = pointee.completion?.line { [pointee.invoke.line, line] } else { [pointee.invoke.line] }
    }
}
