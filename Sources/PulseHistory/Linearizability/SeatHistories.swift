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

    init(_ index: HistoryIndex) {
        let universe = Self.seatsSeen(index)
        let clockJumped = index.records.contains { $0.type == .fault && $0.f == "clock_jump" }
        var duplicated: [String: [Int64]] = [:]
        var paused: [String: [(atNs: Int64, ms: Int64)]] = [:]
        for record in index.records where record.type == .fault {
            switch record.f {
            case "hot_state_loss", "server_crash": lossesNs.append(record.timeNs)
            case "failover":
                // A replica behind its master may bring back holds and releases the history
                // places before the failover: no seat state can be assumed across it.
                for event in universe.keys { unjudged[event] = "a Redis failover may have brought back state from before it" }
            case "request_duplicate": if let process = record.string("process") { duplicated[process, default: []].append(record.timeNs) }
            case "pause": if let process = record.string("process") { paused[process, default: []].append((record.timeNs, record.int("ms") ?? 0)) }
            default: continue
            }
        }
        var holds: [String: (seats: [String], user: String)] = [:]
        var bookings: [String: [String]] = [:]
        var keyedBookings: [String: String] = [:]
        for operation in index.operations where operation.isOK {
            let seats = Self.seats(operation)
            if operation.f == "hold", let hold = operation.completion?.string("hold") { holds[hold] = (seats, operation.user) }
            if operation.f == "checkout", let booking = operation.completion?.string("booking") {
                bookings[booking] = seats
                if let key = operation.invoke.string("key") { keyedBookings[operation.user + "\u{0}" + key] = booking }
            }
        }
        for final in index.finalBookings.values.flatMap(\.self) + index.finalCancelled.values.flatMap(\.self) where bookings[final.key] == nil {
            bookings[final.key] = final.value.seats
        }
        var groups: [String: Int] = [:]
        func group(_ booking: String?) -> Int? {
            guard let booking else { return nil }
            if let known = groups[booking] { return known }
            groups[booking] = groups.count
            return groups[booking]
        }

        for operation in index.operations {
            let event = operation.event
            let ok = operation.isOK
            let completion = operation.completion
            // Not needed for most operations of a flash sale (refused holds): split only when used.
            lazy var user = operation.user
            var seats = Self.seats(operation)
            var effects: [SeatEffect] = []
            var booking: String?
            switch operation.f {
            case "hold":
                if let completion, completion.type == .fail {
                    // A hold of one seat refused as unavailable read the seat taken (held or
                    // booked) at some instant before the refusal; other refusals say nothing of it.
                    guard completion.error == "seat_unavailable", seats.count == 1 else { continue }
                    self.seats[event, default: [:]][seats[0], default: []].append(
                        SeatOperation(
                            effects: [.read(.taken)], invokeNs: operation.startNs, completeNs: completion.timeNs, required: true,
                            clockLagNs: Self.lag(of: operation, paused), process: operation.process, f: "hold refused", lines: operation.lines))
                    continue
                }
                let expires = clockJumped ? nil : index.historyTime(serverNs: completion?.int("expires_at_ns"), at: completion?.timeNs ?? 0)
                effects =
                    ok ? [.hold(user: user, hold: completion?.string("hold"), expiresNs: expires)] : [.hold(user: user, hold: nil, expiresNs: nil)]
            case "release":
                let hold = operation.invoke.string("hold")
                if ok, let released = completion?.value["released"]?.strings {
                    seats = released
                } else if let hold, let held = holds[hold] {
                    seats = Array(Set(seats + held.seats))
                }
                effects = [.release(user: user, hold: hold)]
            case "extend":
                guard let hold = operation.invoke.string("hold") else { continue }
                seats = holds[hold]?.seats ?? []
                let expires = clockJumped || !ok ? nil : index.historyTime(serverNs: completion?.int("expires_at_ns"), at: completion?.timeNs ?? 0)
                effects = [.extend(hold: hold, expiresNs: expires)]
            case "checkout":
                booking = ok ? completion?.string("booking") : operation.invoke.string("key").flatMap { keyedBookings[user + "\u{0}" + $0] }
                effects = ok ? [.checkout(user: user, booking: booking)] : [.checkout(user: user, booking: booking), .freeze(user: user)]
                let end = ok ? operation.endNs : (completion?.type == .fail ? completion!.timeNs : .max)
                if lossesNs.contains(where: { operation.startNs <= $0 && $0 <= end }) {
                    effects.append(.checkoutAcrossLoss(user: user, booking: booking))
                }
            case "cancel":
                guard let cancelled = completion?.string("booking") ?? operation.invoke.string("booking") else { continue }
                if seats.isEmpty { seats = bookings[cancelled] ?? [] }
                effects = [.cancel(booking: cancelled)]
            case "browse":
                // A seat map read says which seats it showed free when it lists them (a count of
                // free seats says nothing of any one seat).
                guard ok, let completion, let shown = completion.value["free"]?.strings else { continue }
                let free = Set(shown)
                for seat in (universe[event] ?? []).sorted() {
                    self.seats[event, default: [:]][seat, default: []].append(
                        SeatOperation(
                            effects: [.read(free.contains(seat) ? .free : .taken)], invokeNs: operation.startNs, completeNs: operation.endNs,
                            required: true, seq: completion.int("seq"), clockLagNs: Self.lag(of: operation, paused), process: operation.process,
                            f: "browse",
                            lines: operation.lines))
                }
                continue
            default:
                continue
            }
            let taken = SeatOperation(
                effects: effects, invokeNs: operation.startNs,
                completeNs: ok ? operation.endNs : (completion?.type == .fail ? completion!.timeNs : .max), required: ok,
                bookingGroup: group(booking), clockLagNs: Self.lag(of: operation, paused), process: operation.process, f: operation.f,
                lines: operation.lines)
            // A failure may have taken effect before it was answered (a failed checkout may have
            // frozen its hold first); an operation never answered (`info`), at any time after
            // its request, even after the client stopped waiting. A duplicated request may have
            // taken effect a second time, whenever it arrived.
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
            let copies =
                (duplicated[operation.process] ?? []).contains { operation.startNs <= $0 && $0 <= operation.endNs } ? [taken, twice] : [taken]
            for seat in seats {
                self.seats[event, default: [:]][seat, default: []].append(contentsOf: copies)
            }
        }
        addReads(index, universe: universe)
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

    /// How far behind the server's clock may have been for `operation`: the longest stall of
    /// its process (`pause` faults) while it was under way.
    private static func lag(of operation: Operation, _ paused: [String: [(atNs: Int64, ms: Int64)]]) -> Int64 {
        guard let pauses = paused[operation.process] else { return 0 }
        var longest: Int64 = 0
        for pause in pauses where operation.startNs <= pause.atNs && pause.atNs <= operation.endNs { longest = max(longest, pause.ms) }
        return longest * 1_000_000
    }

    /// The seats an operation names: its answer's, else its request's.
    private static func seats(_ operation: Operation) -> [String] {
        let answered = operation.completion?.strings("seats") ?? []
        return answered.isEmpty ? operation.invoke.strings("seats") : answered
    }

    /// Every seat of each event the history names anywhere.
    private static func seatsSeen(_ index: HistoryIndex) -> [String: Set<String>] {
        var seen: [String: Set<String>] = [:]
        for operation in index.operations {
            seen[operation.event, default: []].formUnion(seats(operation))
            seen[operation.event, default: []].formUnion(operation.completion?.strings("released") ?? [])
            seen[operation.event, default: []].formUnion(operation.completion?.strings("free") ?? [])
        }
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
        seen[""] = nil
        return seen
    }
}
