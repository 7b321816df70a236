import Foundation
import PulseSim
import PulseWire

/// The Pulse profile: holds, extensions and releases over REST, subscribers on the live WebSocket.
extension WireWorld {
    private var holdHeaders: [(String, String)] {
        context.session.testControl ? [("Pulse-Test-Hold-TTL", "\(configuration.holdTTLSeconds)")] : []
    }

    /// One user: thinks, holds, then checks out (retrying an unknown outcome with the same key),
    /// releases, extends or abandons, as SimWorld's users do, on the real clock.
    func user(index: Int, _ user: TestUser) async throws {
        let name = "u\(index)"
        var choices = UserChoices(configuration, user: index)
        for operation in 0..<configuration.operationsPerUser {
            try await Task.sleep(for: choices.think())
            let seats = choices.seats()
            let held = try await perform(name, "hold", ["event": .string(event), "seats": .list(seats)],
                                         .POST, "/api/v1/events/\(event)/holds", user, ["seatIds": seats], headers: holdHeaders) { reply in
                let hold = reply.object("hold")
                return ["seats": .list(hold["seatIds"] as? [String] ?? seats), "hold": .string(hold["id"] as? String ?? ""),
                        "fence": .int((hold["fence"] as? NSNumber)?.int64Value ?? 0), "expires_at_ns": .int(Self.ns(hold["expiresAt"] as? String))]
            }
            guard let hold = held?.object("hold")["id"] as? String else { continue }
            try await Task.sleep(for: choices.think())
            if choices.extends() {
                _ = try await perform(name, "extend", ["event": .string(event), "hold": .string(hold)], .POST,
                                      "/api/v1/events/\(event)/holds/\(hold)/extend", user, [:]) { reply in
                    ["hold": .string(hold), "expires_at_ns": .int(Self.ns(reply.object("hold")["expiresAt"] as? String))]
                }
            }
            switch choices.ending() {
            case .checkout:
                _ = try await checkout(name, seats, key: "wire-\(context.session.runID)-\(index)-\(operation)", as: user)
            case .release:
                _ = try await perform(name, "release", ["event": .string(event), "hold": .string(hold)], .DELETE,
                                      "/api/v1/events/\(event)/holds/\(hold)", user, nil) { _ in ["released": .list(seats)] }
            case .abandon:
                continue
            }
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
            if type == "snapshot" {
                var value = seatsView(json["seats"] as? [[String: Any]] ?? [])
                if let seq = message.seq { value["seq"] = .int(seq) }
                recorder.record(at: message.receivedAtNs, name, .observe, type, value)
            } else if let value = change(type, json) {
                recorder.record(at: message.receivedAtNs, name, .observe, type, value)
            }
        }
    }
}
