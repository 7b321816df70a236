/// One operation of a process: its invoke and, if any, its completion.
public struct Operation: Sendable {
    public var process: String
    /// The user the process acts for: the process up to a `/` (`u3/2` is a second client of user
    /// `u3` running at the same time, such as a retry racing the first attempt in another tab).
    public var user: String { Self.user(of: process) }

    /// The user a process acts for: the process up to a `/`.
    static func user(of process: String) -> String { process.split(separator: "/", maxSplits: 1).first.map(String.init) ?? process }
    public var f: String
    public internal(set) var invoke: HistoryRecord
    /// `ok`, `fail` or `info`; nil when the history ends first (as `info`: it may have happened).
    public internal(set) var completion: HistoryRecord? {
        didSet {
            guard let completion else { return }
            if let event = completion.string("event") { self.event = event }
            let answered = completion.strings("seats")
            if !answered.isEmpty { seats = answered }
        }
    }
    /// The event it is about: its answer's `event`, else its request's ("" when neither names
    /// one). Read once, when the index pairs the records (while they are in the cache): every
    /// check asks for it.
    public private(set) var event: String
    /// The seats it names: its answer's `seats`, else its request's.
    public private(set) var seats: [String]

    init(invoke: HistoryRecord) {
        process = invoke.process
        f = invoke.f
        self.invoke = invoke
        event = invoke.string("event") ?? ""
        seats = invoke.strings("seats")
    }

    public var isOK: Bool { completion?.type == .ok }
    /// Whether it may or may not have taken effect: `info`, or no completion at all.
    public var isIndeterminate: Bool { completion?.type != .ok && completion?.type != .fail }
    /// When the operation surely had not yet taken effect.
    public var startNs: Int64 { invoke.timeNs }
    /// When it surely had taken effect, if it did (`ok`); the end of the history otherwise.
    public var endNs: Int64 { completion?.timeNs ?? .max }
    public var lines: [Int] { [invoke.line] + (completion.map { [$0.line] } ?? []) }
}

/// A live hold as the history shows it: granted by an `ok` hold, ended by the first of its
/// expiry (moved by `ok` extensions) and the invocation of any release or checkout by its owner.
public struct HeldInterval: Sendable {
    public var user: String
    public var holdID: String
    public var seat: String
    public var fence: Int64?
    public var grant: Grant
    /// The hold's expiry in history time, moved by `ok` extensions.
    public var expiresNs: Int64?
    /// Whether an extension may have moved the expiry later without the history saying so (an
    /// `extend` whose answer never came): then no deadline for announcing the expiry is known.
    public var expiryUncertain = false
    /// The start of the first release or checkout of the owner that ended it.
    public var endedByNs: Int64?
    public var endLines: [Int] = []

    /// From the grant's `ok` on, the hold surely was live...
    public var surelyLiveFromNs: Int64 { grant.endNs }
    /// ...until it surely could have ended.
    public var surelyLiveUntilNs: Int64 { min(expiresNs ?? .max, endedByNs ?? .max) }
}

/// What the checker keeps of the `ok` hold operation that granted a hold: its times and lines
/// (not the records themselves, which a hold of many seats would copy once per seat).
public struct Grant: Sendable {
    /// When the hold surely had not been granted yet (the invoke).
    public var startNs: Int64
    /// When it surely had been (the `ok`).
    public var endNs: Int64
    public var invokeLine: Int
    public var completionLine: Int?
    public var lines: [Int] { [invokeLine] + (completionLine.map { [$0] } ?? []) }

    init(_ operation: Operation) {
        startNs = operation.startNs
        endNs = operation.endNs
        invokeLine = operation.invoke.line
        completionLine = operation.completion?.line
    }
}

/// The history organised for the checker: operations paired per process, per-event seat holds,
/// observations per subscriber and event, the final reads. Built in one pass (plus sorting).
public struct HistoryIndex: Sendable {
    public var records: [HistoryRecord]
    public var operations: [Operation] = []
    /// Live messages per (subscriber, event), in arrival order.
    public var observations: [String: [String: [HistoryRecord]]] = [:]
    /// `final_bookings` reads per event: booking id -> (user, seats, record), confirmed bookings only.
    public var finalBookings: [String: [String: (user: String, seats: [String], record: HistoryRecord)]] = [:]
    /// The bookings the final reads show cancelled, per event: booking id -> (user, seats, record).
    public var finalCancelled: [String: [String: (user: String, seats: [String], record: HistoryRecord)]] = [:]
    /// Seats per event and the per-user cap, from a `config` observation if present.
    public var seatsPerEvent: [String: Int] = [:]
    public var heldSeatsMax: Int?
    public var expiryGraceNs: Int64 = 1_000_000_000
    /// How far the server's clock may be from the history's (`clock_skew_ns` of a `config`
    /// observation; wire mode measures it, the simulator's is 0): an expiry's instant is known only
    /// within it.
    public var clockSkewNs: Int64 = 0
    /// Times when every hold may have vanished or moved (holds are soft state): `hot_state_loss`,
    /// `failover`, `server_crash` and `clock_jump` faults.
    public var holdDisruptionsNs: [Int64] = []
    /// Times when every hold may have vanished (`hot_state_loss`, `failover`, `server_crash`):
    /// fences restart above the old ones there. A clock jump moves expiries but loses nothing.
    public var holdLossesNs: [Int64] = []
    /// When each process's request was sent twice (`request_duplicate` faults): the copy may take
    /// effect unseen (a second hold, granted with an id and expiry nobody was told).
    public var duplicatedNs: [String: [Int64]] = [:]
    /// Periods when a subscriber was disconnected (`disconnect` faults), per subscriber.
    public var disconnectedNs: [String: [ClosedRange<Int64>]] = [:]
    /// Live messages to a subscriber lost or held up in transit (`message_drop`, `message_delay`).
    public var messageTroubleNs: [String: [ClosedRange<Int64>]] = [:]
    /// Periods when the server was down (`server_crash` faults): every subscriber was disconnected.
    public var serverDownNs: [ClosedRange<Int64>] = []
    /// Periods of a real deployment's faults (a fault with a `target` and an `end_ns`: a paused
    /// process, a cut link): live messages may be late then, until one grace after each ends.
    public var deploymentFaultsNs: [ClosedRange<Int64>] = []
    /// The server clock's offset from history time after each `clock_jump`, in time order.
    public var clockOffsetsNs: [(sinceNs: Int64, offsetNs: Int64)] = []

    public init(_ records: [HistoryRecord]) {
        self.records = records
        // Each operation takes its place in invoke order when invoked (so no sort is needed) and
        // gets its completion in place; a process's next invoke leaves an open one unanswered.
        var open: [String: Int] = [:]
        for record in records {
            switch record.type {
            case .invoke:
                open[record.process] = operations.count
                operations.append(Operation(invoke: record))
            case .ok, .fail, .info:
                guard let place = open.removeValue(forKey: record.process) else { continue }
                operations[place].completion = record
            case .observe:
                observe(record)
            case .fault:
                if ["hot_state_loss", "failover", "server_crash", "clock_jump"].contains(record.f) { holdDisruptionsNs.append(record.timeNs) }
                if ["hot_state_loss", "failover", "server_crash"].contains(record.f) { holdLossesNs.append(record.timeNs) }
                if record.f == "request_duplicate", let process = record.string("process") {
                    duplicatedNs[process, default: []].append(record.timeNs)
                }
                if record.f == "server_crash" { serverDownNs.append(record.timeNs...(record.timeNs + (record.int("down_ms") ?? 0) * 1_000_000)) }
                if record.f == "message_drop" || record.f == "message_delay", let process = record.string("process") {
                    messageTroubleNs[process, default: []].append(record.timeNs...(record.timeNs + (record.int("ms") ?? 0) * 1_000_000))
                }
                if record.string("target") != nil, let end = record.int("end_ns"), end >= record.timeNs {
                    deploymentFaultsNs.append(record.timeNs...end)
                }
                if record.f == "clock_jump", let offset = record.int("offset_ms") { clockOffsetsNs.append((record.timeNs, offset * 1_000_000)) }
                if record.f == "disconnect", let process = record.string("process"), let ms = record.int("ms") {
                    disconnectedNs[process, default: []].append(record.timeNs...(record.timeNs + ms * 1_000_000))
                }
            }
        }
    }

    private mutating func observe(_ record: HistoryRecord) {
        switch record.f {
        case "config":
            for (event, count) in record.value["seats_per_event"]?.object ?? [:] { seatsPerEvent[event] = count.int.map(Int.init) }
            heldSeatsMax = record.int("held_seats_max").map(Int.init)
            if let grace = record.int("expiry_grace_ns") { expiryGraceNs = grace }
            if let skew = record.int("clock_skew_ns") { clockSkewNs = max(0, skew) }
        case "final_bookings":
            let event = record.string("event") ?? ""
            finalBookings[event] = finalBookings[event] ?? [:]
            for booking in record.value["bookings"]?.array ?? [] {
                guard let fields = booking.object, let id = fields["booking"]?.string else { continue }
                let entry = (fields["user"]?.string ?? "", fields["seats"]?.strings ?? [], record)
                if fields["status"]?.string == "cancelled" {
                    finalCancelled[event, default: [:]][id] = entry
                } else {
                    finalBookings[event, default: [:]][id] = entry
                }
            }
        default:
            guard let event = record.string("event") else { return }
            observations[record.process, default: [:]][event, default: []].append(record)
        }
    }

    /// Walks every subscriber's stream of every event (subscribers and events in name order),
    /// calling `visit` with each record and, as the subscriber had been told just before it, who
    /// holds each seat (from its snapshots and numbered changes).
    public func walkSubscriberViews(_ visit: (_ subscriber: String, _ event: String, _ record: HistoryRecord, _ holders: [String: String]) -> Void) {
        for (subscriber, events) in observations.sorted(by: { $0.key < $1.key }) {
            for (event, stream) in events.sorted(by: { $0.key < $1.key }) {
                var holders: [String: String] = [:]
                for record in stream {
                    visit(subscriber, event, record, holders)
                    switch record.f {
                    case "snapshot":
                        holders = (record.value["locked"]?.object ?? [:]).compactMapValues(\.string)
                    case "seat_locked":
                        if let seat = record.string("seat") { holders[seat] = record.string("user") }
                    case "seat_released", "seats_booked":
                        for seat in record.string("seat").map({ [$0] }) ?? record.strings("seats") { holders[seat] = nil }
                    case "event_deleted":
                        holders = [:]
                    default:
                        continue
                    }
                }
            }
        }
    }

    /// Whether `operation`'s request was sent twice: its copy may have taken effect unseen.
    public func isDuplicated(_ operation: Operation) -> Bool {
        (duplicatedNs[operation.process] ?? []).contains { operation.startNs <= $0 && $0 <= operation.endNs }
    }

    /// The operations named `f` that completed `ok`.
    public func ok(_ f: String) -> [Operation] { operations.filter { $0.f == f && $0.isOK } }

    /// Every hold interval of every seat, per (event, seat), in grant order.
    public func heldIntervals() -> [String: [String: [HeldInterval]]] {
        var result: [String: [String: [HeldInterval]]] = [:]
        var places: [String: [(event: String, seat: String, index: Int)]] = [:]
        for operation in operations {
            // Holds and extensions count once they are `ok` (an unanswered extension makes the
            // expiry uncertain); a release or checkout by the owner may
            // end a hold as soon as it is invoked, whatever its answer (a failed checkout may have
            // frozen the hold before it failed).
            guard operation.isOK || operation.f == "release" || operation.f == "checkout" || operation.f == "extend" else { continue }
            let completion = operation.completion
            switch operation.f {
            case "hold":
                let completion = completion!
                guard let holdID = completion.string("hold") else { continue }
                let seats = operation.seats
                let grant = Grant(operation)
                let fence = completion.int("fence")
                let expires = historyTime(serverNs: completion.int("expires_at_ns"), during: operation.startNs...completion.timeNs)
                for seat in seats {
                    var interval = HeldInterval(
                        user: operation.user, holdID: holdID, seat: seat, fence: fence, grant: grant, expiresNs: expires?.earliest)
                    interval.expiryUncertain = expires?.ambiguous ?? false
                    result[operation.event, default: [:]][seat, default: []].append(interval)
                    places[holdID, default: []].append((operation.event, seat, result[operation.event]![seat]!.count - 1))
                }
            case "extend":
                if operation.isIndeterminate, let holdID = operation.invoke.string("hold") {
                    for place in places[holdID] ?? [] { result[place.event]![place.seat]![place.index].expiryUncertain = true }
                    continue
                }
                guard let holdID = operation.invoke.string("hold"), let completion, completion.type == .ok,
                    let expires = historyTime(serverNs: completion.int("expires_at_ns"), during: operation.startNs...completion.timeNs)
                else { continue }
                for place in places[holdID] ?? [] {
                    let previous = result[place.event]![place.seat]![place.index].expiresNs ?? expires.earliest
                    result[place.event]![place.seat]![place.index].expiresNs = max(previous, expires.earliest)
                    if expires.ambiguous { result[place.event]![place.seat]![place.index].expiryUncertain = true }
                }
            case "release", "checkout":
                let holdID = operation.invoke.string("hold")
                let seats = Set((completion?.strings("released") ?? []) + operation.invoke.strings("seats"))
                for place in (holdID.flatMap { places[$0] } ?? [])
                    + seats.flatMap({ seat in
                        (result[operation.event]?[seat] ?? []).indices.map { (operation.event, seat, $0) }
                    })
                {
                    let interval = result[place.event]![place.seat]![place.index]
                    guard interval.user == operation.user, interval.surelyLiveFromNs <= operation.startNs,
                        interval.endedByNs == nil
                    else { continue }
                    result[place.event]![place.seat]![place.index].endedByNs = operation.startNs
                    result[place.event]![place.seat]![place.index].endLines = operation.lines
                }
            default:
                continue
            }
        }
        for loss in holdDisruptionsNs {
            for (event, seats) in result {
                for (seat, holds) in seats {
                    for index in holds.indices where holds[index].grant.startNs <= loss && (holds[index].endedByNs ?? .max) > loss {
                        result[event]![seat]![index].endedByNs = loss
                    }
                }
            }
        }
        return result
    }

    /// Whether holds may have vanished at some time in `range`.
    public func holdsLost(in range: ClosedRange<Int64>) -> Bool { holdLossesNs.contains { range.contains($0) } }

    /// Every period when `subscriber` was cut off: its own disconnections and the server's downtime.
    public func disconnections(of subscriber: String) -> [ClosedRange<Int64>] { (disconnectedNs[subscriber] ?? []) + serverDownNs }

    /// When `subscriber` must have heard of a change made at `changedNs` that everyone else hears
    /// of by `deadline`: each disconnection, downtime, deployment fault, lost or late message of its own that
    /// begins before its deadline and reaches past the change pushes its deadline to one grace
    /// after that trouble ends (troubles may chain).
    public func deliveryDeadline(of subscriber: String, from changedNs: Int64, deadline: Int64) -> Int64 {
        let troubles = (disconnections(of: subscriber) + (messageTroubleNs[subscriber] ?? []) + deploymentFaultsNs).filter {
            $0.upperBound >= changedNs
        }
        .sorted { $0.lowerBound < $1.lowerBound }
        var own = deadline
        for trouble in troubles where trouble.lowerBound <= own { own = max(own, trouble.upperBound + expiryGraceNs) }
        return own
    }

    /// A server time (such as `expires_at_ns`) that the server wrote at some instant of `span`,
    /// in history time: the earliest it can be, and whether a clock jump inside `span` makes it
    /// ambiguous (the server may have read its clock before or after the jump: an extension
    /// stalled across one was seen written with the old offset and read with the new).
    func historyTime(serverNs: Int64?, during span: ClosedRange<Int64>) -> (earliest: Int64, ambiguous: Bool)? {
        guard let serverNs else { return nil }
        let before = clockOffsetsNs.last { $0.sinceNs <= span.lowerBound }?.offsetNs ?? 0
        let offsets = [before] + clockOffsetsNs.filter { span.lowerBound < $0.sinceNs && $0.sinceNs <= span.upperBound }.map(\.offsetNs)
        return (serverNs - offsets.max()!, Set(offsets).count > 1)
    }

    /// A server time (such as `expires_at_ns`) read at history time `atNs`, in history time: the
    /// server's clock ran ahead of history time by the offset of the last clock jump before.
    func historyTime(serverNs: Int64?, at atNs: Int64) -> Int64? {
        guard let serverNs else { return nil }
        return serverNs - (clockOffsetsNs.last { $0.sinceNs <= atNs }?.offsetNs ?? 0)
    }
}
