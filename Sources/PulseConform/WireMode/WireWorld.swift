import Foundation
import NIOHTTP1
import PulseHistory
import PulseProtocol
import PulseScenario
import PulseWire

/// The processes of a wire run: virtual users doing what the scenario's behaviour mix says, and
/// subscribers listening to the event, over the target's protocol (WireWorld+Pulse,
/// WireWorld+SocketIO). This file holds what both protocols share.
struct WireWorld: Sendable {
    let configuration: SimConfiguration
    /// The first instance's context: the run's event, users and final reads go through it.
    let context: CaseContext
    /// Which instance each user and subscriber talks to.
    let routing: WireRouting
    let recorder: WireRecorder
    let event: String
    /// User id -> process name (`u3`).
    let names: [String: String]
    /// The target's hold TTL, for holds whose answer does not say when they expire (Socket.IO locks).
    let holdTTLSeconds: Int
    /// The seat map's ids by label (`A1` -> its id) and back. A Pulse server's seat id is its
    /// label; a seed-style server's is an ObjectId. Requests carry ids; the history names labels,
    /// so a history reads the same whatever the target calls its seats.
    let seatIDs: [String: String]
    let seatLabels: [String: String]

    /// The seats' ids for a request.
    func ids(_ labels: [String]) -> [String] { labels.map { seatIDs[$0] ?? $0 } }

    /// A seat's label for the history (an id the map did not list stays as it is).
    func label(_ id: String) -> String { seatLabels[id] ?? id }

    /// The price of every seat of the run's event (the seed's checkout wants the total).
    static let seatPrice = 10

    /// Records `invoke`, sends the request, records `ok` (2xx), `fail` (4xx) or `info` (5xx or no answer).
    func perform(
        _ name: String, _ f: String, _ invoke: [String: HistoryValue], _ method: HTTPMethod, _ path: String, _ user: TestUser,
        _ body: [String: Any]?, headers: [(String, String)] = [], ok: (APIReply) -> [String: HistoryValue]
    ) async throws -> APIReply? {
        let (context, via) = routing.route(name)
        recorder.record(name, .invoke, f, routing.spread ? invoke.merging(["via": .string(via)]) { $1 } : invoke)
        let base: [String: HistoryValue] = ["event": .string(event)]
        do {
            let reply = try await context.call(method, path, token: user.token, json: body, headers: headers)
            switch reply.status {
            case 200..<300: recorder.record(name, .ok, f, base.merging(ok(reply)) { $1 })
            case 400..<500: recorder.record(name, .fail, f, base, error: reply.code ?? "\(reply.status)")
            default:
                recorder.record(name, .info, f, base, error: reply.code ?? "\(reply.status)")
                if [502, 503].contains(reply.status) { routing.failed(name) }
            }
            return reply
        } catch {
            recorder.record(name, .info, f, base, error: "no answer: \(error)")
            routing.failed(name)
            return nil
        }
    }

    /// A checkout over REST (both protocols book over HTTP), retried with the same idempotency key
    /// while its outcome is unknown. The seed's route also wants `totalAmount` (it trusts it; the
    /// reference ignores it).
    func checkout(_ name: String, _ seats: [String], key: String, as user: TestUser) async throws -> APIReply? {
        var answer: APIReply?
        for _ in 0..<3 {
            answer = try await perform(
                name, "checkout", ["event": .string(event), "seats": .list(seats), "key": .string(key)], .POST,
                "/api/v1/events/\(event)/seats", user, ["seatIds": ids(seats), "totalAmount": Self.seatPrice * seats.count],
                headers: [("Idempotency-Key", key)]
            ) { reply in
                let booking = Self.booking(reply.object("booking"))
                return ["seats": .list(booking.seats.isEmpty ? seats : booking.seats.map(label)), "booking": .string(booking.id)]
            }
            if let status = answer?.status, status < 500 { break }
        }
        return answer
    }

    /// A read of the seat map, recorded as a `browse` with the seq it is as of and the free seats.
    func browse(_ name: String, as user: TestUser) async {
        let (context, via) = routing.route(name)
        recorder.record(name, .invoke, "browse", routing.spread ? ["event": .string(event), "via": .string(via)] : ["event": .string(event)])
        guard let reply = try? await context.call(.GET, "/api/v1/events/\(event)/seats", token: user.token), reply.status == 200 else {
            routing.failed(name)
            recorder.record(name, .info, "browse", ["event": .string(event)], error: "no seat map")
            return
        }
        let data = reply.json["data"] as? [String: Any] ?? [:]
        let free = reply.objects("seats").filter { $0["status"] as? String == "available" }.compactMap { $0.documentID.map(label) }
        recorder.record(
            name, .ok, "browse", ["event": .string(event), "seq": .int((data["seq"] as? NSNumber)?.int64Value ?? -1), "free": .list(free)])
    }

    /// A subscriber's view of a seat list (a snapshot or a seat map): booked seats and who holds what.
    func seatsView(_ seats: [[String: Any]]) -> [String: HistoryValue] {
        [
            "event": .string(event),
            "booked": .list(seats.filter { $0["status"] as? String == "booked" }.compactMap { $0.documentID.map(label) }),
            "locked": .object(
                Dictionary(
                    seats.filter { $0["status"] as? String == "locked" }.compactMap { seat in
                        seat.documentID.map { (label($0), HistoryValue.string(names[seat["lockedBy"] as? String ?? ""] ?? "?")) }
                    }, uniquingKeysWith: { first, _ in first })),
        ]
    }

    /// A live change as an `observe` value (both protocols name the fields the same way), or nil
    /// for a message that is not a change.
    func change(_ type: String, _ json: [String: Any]) -> [String: HistoryValue]? {
        var value: [String: HistoryValue] = ["event": .string(event)]
        switch type {
        case "seat_locked":
            value["seat"] = .string(label(json["seatId"] as? String ?? ""))
            value["user"] = .string(names[json["lockedBy"] as? String ?? ""] ?? "?")
        case "seat_released":
            value["seat"] = .string(label(json["seatId"] as? String ?? ""))
            value["reason"] = .string(json["reason"] as? String ?? "")
        case "seats_booked":
            value["seats"] = .list((json["seatIds"] as? [String] ?? []).map(label))
        case "seats_released":
            value["seats"] = .list((json["seatIds"] as? [String] ?? []).map(label))
            value["reason"] = .string(json["reason"] as? String ?? "")
        case "event_deleted":
            break
        default:
            return nil
        }
        if let seq = (json["seq"] as? NSNumber)?.int64Value { value["seq"] = .int(seq) }
        return value
    }

    /// The final reads: every user's bookings of the event.
    func finalReads(users: [TestUser]) async throws {
        var bookings: [HistoryValue] = []
        for (index, user) in users.enumerated() {
            let reply = try await anyInstance { try await $0.call(.GET, "/api/v1/bookings/me", token: user.token) }
            for booking in reply.objects("bookings").map(Self.booking) where booking.event == event {
                bookings.append(
                    .object([
                        "booking": .string(booking.id), "user": .string("u\(index)"), "seats": .list(booking.seats.map(label)),
                        "status": .string(booking.status),
                    ]))
            }
        }
        recorder.record("harness", .observe, "final_bookings", ["event": .string(event), "bookings": .array(bookings)])
    }

    /// `call` on the first instance that answers (one that is down or unavailable is passed over);
    /// throws the last instance's failure.
    func anyInstance(_ call: (CaseContext) async throws -> APIReply) async throws -> APIReply {
        var failure: (any Error)?
        for context in routing.contexts {
            do {
                let reply = try await call(context)
                if ![502, 503].contains(reply.status) || context === routing.contexts.last { return reply }
            } catch { failure = error }
        }
        throw failure ?? APIError("no instance answered")
    }

    /// A booking's id, event and seat ids, in the Pulse shape (`id`, `eventId`, `seatIds`) or the
    /// seed's (`_id`, `event` and `seats`, each possibly populated into documents).
    static func booking(_ object: [String: Any]) -> (id: String, event: String, seats: [String], status: String) {
        let event = object["eventId"] as? String ?? object["event"] as? String ?? (object["event"] as? [String: Any])?.documentID ?? ""
        let seats =
            object["seatIds"] as? [String] ?? object["seats"] as? [String] ?? (object["seats"] as? [[String: Any]])?.compactMap(\.documentID) ?? []
        return (object.documentID ?? "", event, seats, object["status"] as? String ?? "confirmed")
    }

    /// An ISO 8601 instant as nanoseconds since 1970.
    static func ns(_ iso: String?) -> Int64 {
        guard let iso else { return 0 }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: iso) else { return 0 }
        return Int64(date.timeIntervalSince1970 * 1_000_000_000)
    }
}

/// What one wire user does next, drawn from the scenario's behaviour mix with the user's own
/// seeded generator; both protocols draw the same sequence, so a scenario and seed ask the same
/// things of a Pulse server and of a seed-style one.
struct UserChoices {
    /// How a held attempt ends.
    enum Ending { case checkout, release, abandon }
    /// How a booked checkout is retried with its key.
    enum Retry { case after, racing }

    private let configuration: SimConfiguration
    private var random: SeededRandom

    init(_ configuration: SimConfiguration, user index: Int) {
        self.configuration = configuration
        random = SeededRandom(seed: configuration.seed &* 0x100_0000_01B3 &+ UInt64(index) &+ 1)
    }

    /// A think time.
    mutating func think() -> Duration { .milliseconds(random.below(Int(configuration.thinkMsMax) + 1)) }

    /// Whether to read the seat map before the next attempt (`behaviour.browse`).
    mutating func browses() -> Bool { configuration.browseProbability > 0 && random.chance(configuration.browseProbability) }

    /// After a booked checkout: nil, or how the client retries it with the same key
    /// (`behaviour.retry_same_key`): after the answer, or at once, racing the first attempt (a
    /// second tab, a double click).
    mutating func retry() -> Retry? {
        guard random.chance(configuration.retryProbability) else { return nil }
        return random.chance(0.5) ? .after : .racing
    }

    /// After a checkout: the pauses before each cancel of its booking, if it booked (`behaviour.cancel`:
    /// one cancel, `cancel_again`: a second one later); empty for none. Every draw is made whatever
    /// the outcome, so both profiles (the seed has no cancel) keep the same sequence.
    mutating func cancelPauses() -> [Duration] {
        guard configuration.cancelProbability > 0 else { return [] }
        let cancels = random.chance(configuration.cancelProbability)
        let again = random.chance(configuration.cancelAgainProbability)
        let pauses = [think(), think()]
        return cancels ? Array(pauses.prefix(again ? 2 : 1)) : []
    }

    /// How a release names what it releases (`behaviour.release_by_seats`): its seats, or its hold.
    mutating func releasesBySeats() -> Bool { random.chance(configuration.releaseBySeatsShare) }

    /// The seats of the next attempt.
    mutating func seats() -> [String] { configuration.pickSeats(&random) }

    /// Whether to extend the hold before it ends.
    mutating func extends() -> Bool { random.chance(configuration.extendProbability) }

    /// How the attempt ends.
    mutating func ending() -> Ending {
        if random.chance(configuration.checkoutProbability) { return .checkout }
        return random.chance(configuration.releaseProbability / max(0.000_1, 1 - configuration.checkoutProbability)) ? .release : .abandon
    }
}
