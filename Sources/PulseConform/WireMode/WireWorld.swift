import Foundation
import NIOHTTP1
import PulseReference
import PulseSim
import PulseWire

/// The processes of a wire run: virtual users doing what the scenario's behaviour mix says, over
/// HTTP, and subscribers on the live WebSocket.
struct WireWorld: Sendable {
    let configuration: SimConfiguration
    let context: CaseContext
    let recorder: WireRecorder
    let event: String
    /// User id -> process name (`u3`).
    let names: [String: String]

    private var holdHeaders: [(String, String)] {
        context.session.testControl ? [("Pulse-Test-Hold-TTL", "\(configuration.holdTTLSeconds)")] : []
    }

    /// One user: thinks, holds, then checks out (retrying an unknown outcome with the same key),
    /// releases, extends or abandons, as SimWorld's users do, on the real clock.
    func user(index: Int, _ user: TestUser) async throws {
        let name = "u\(index)"
        var random = SeededRandom(seed: configuration.seed &* 0x100_0000_01B3 &+ UInt64(index) &+ 1)
        for operation in 0..<configuration.operationsPerUser {
            try await Task.sleep(for: .milliseconds(random.below(Int(configuration.thinkMsMax) + 1)))
            let seats = configuration.pickSeats(&random)
            let held = try await perform(name, "hold", ["event": .string(event), "seats": .list(seats)],
                                         .POST, "/api/v1/events/\(event)/holds", user, ["seatIds": seats], headers: holdHeaders) { reply in
                let hold = reply.object("hold")
                return ["seats": .list(hold["seatIds"] as? [String] ?? seats), "hold": .string(hold["id"] as? String ?? ""),
                        "fence": .int((hold["fence"] as? NSNumber)?.int64Value ?? 0), "expires_at_ns": .int(Self.ns(hold["expiresAt"] as? String))]
            }
            guard let hold = held?.object("hold")["id"] as? String else { continue }
            try await Task.sleep(for: .milliseconds(random.below(Int(configuration.thinkMsMax) + 1)))
            if random.chance(configuration.extendProbability) {
                _ = try await perform(name, "extend", ["event": .string(event), "hold": .string(hold)], .POST,
                                      "/api/v1/events/\(event)/holds/\(hold)/extend", user, [:]) { reply in
                    ["hold": .string(hold), "expires_at_ns": .int(Self.ns(reply.object("hold")["expiresAt"] as? String))]
                }
            }
            if random.chance(configuration.checkoutProbability) {
                let key = "wire-\(context.session.runID)-\(index)-\(operation)"
                var answer: APIReply?
                for _ in 0..<3 {
                    answer = try await perform(name, "checkout", ["event": .string(event), "seats": .list(seats), "key": .string(key)], .POST,
                                               "/api/v1/events/\(event)/seats", user, ["seatIds": seats], headers: [("Idempotency-Key", key)]) { reply in
                        let booking = reply.object("booking")
                        return ["seats": .list(booking["seatIds"] as? [String] ?? seats), "booking": .string(booking["id"] as? String ?? "")]
                    }
                    if let status = answer?.status, status < 500 { break }
                }
            } else if random.chance(configuration.releaseProbability / max(0.000_1, 1 - configuration.checkoutProbability)) {
                _ = try await perform(name, "release", ["event": .string(event), "hold": .string(hold)], .DELETE,
                                      "/api/v1/events/\(event)/holds/\(hold)", user, nil) { _ in ["released": .list(seats)] }
            }
        }
    }

    /// Records `invoke`, sends the request, records `ok` (2xx), `fail` (4xx) or `info` (5xx or no answer).
    private func perform(_ name: String, _ f: String, _ invoke: [String: HistoryValue], _ method: HTTPMethod, _ path: String, _ user: TestUser,
                         _ body: [String: Any]?, headers: [(String, String)] = [], ok: (APIReply) -> [String: HistoryValue]) async throws -> APIReply? {
        recorder.record(name, .invoke, f, invoke)
        let base: [String: HistoryValue] = ["event": .string(event)]
        do {
            let reply = try await context.call(method, path, token: user.token, json: body, headers: headers)
            switch reply.status {
            case 200..<300: recorder.record(name, .ok, f, base.merging(ok(reply)) { $1 })
            case 400..<500: recorder.record(name, .fail, f, base, error: reply.code ?? "\(reply.status)")
            default: recorder.record(name, .info, f, base, error: reply.code ?? "\(reply.status)")
            }
            return reply
        } catch {
            recorder.record(name, .info, f, base, error: "no answer: \(error)")
            return nil
        }
    }

    /// A subscriber that joined the event (its messages are recorded at the end, with their arrival times).
    func subscribe(_ name: String, token: String) -> (String, LiveConnection) {
        let connection = context.live(token)
        connection.send(["type": "join_event", "eventId": event])
        return (name, connection)
    }

    /// Turns a subscriber's messages into `observe` records.
    func recordStream(_ name: String, _ connection: LiveConnection) {
        for message in connection.messages {
            guard let json = message.json, let type = message.type else { continue }
            var value: [String: HistoryValue] = ["event": .string(event)]
            if let seq = message.seq { value["seq"] = .int(seq) }
            switch type {
            case "snapshot":
                let seats = json["seats"] as? [[String: Any]] ?? []
                value["booked"] = .list(seats.filter { $0["status"] as? String == "booked" }.compactMap { $0["id"] as? String })
                value["locked"] = .object(Dictionary(uniqueKeysWithValues: seats.filter { $0["status"] as? String == "locked" }.compactMap { seat in
                    (seat["id"] as? String).map { ($0, HistoryValue.string(names[seat["lockedBy"] as? String ?? ""] ?? "?")) }
                }))
            case "seat_locked":
                value["seat"] = .string(json["seatId"] as? String ?? "")
                value["user"] = .string(names[json["lockedBy"] as? String ?? ""] ?? "?")
            case "seat_released":
                value["seat"] = .string(json["seatId"] as? String ?? "")
                value["reason"] = .string(json["reason"] as? String ?? "")
            case "seats_booked":
                value["seats"] = .list(json["seatIds"] as? [String] ?? [])
            default:
                continue
            }
            recorder.record(at: message.receivedAtNs, name, .observe, type, value)
        }
    }

    /// The final reads: every user's bookings of the event.
    func finalReads(users: [TestUser]) async throws {
        var bookings: [HistoryValue] = []
        for (index, user) in users.enumerated() where context.session.testControl || index < context.session.userPool.count {
            let reply = try await context.call(.GET, "/api/v1/bookings/me", token: user.token)
            for booking in reply.objects("bookings") where booking["eventId"] as? String == event {
                bookings.append(.object(["booking": .string(booking["id"] as? String ?? ""), "user": .string("u\(index)"),
                                         "seats": .list(booking["seatIds"] as? [String] ?? [])]))
            }
        }
        recorder.record("harness", .observe, "final_bookings", ["event": .string(event), "bookings": .array(bookings)])
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

