import Foundation
import PulseLive
import PulseProtocol

/// The AsyncAPI 3.0 description of the live protocol (PB-LIVE), served at `GET /asyncapi.json`
/// beside the OpenAPI document: the WebSocket channel and a JSON Schema for every message each
/// way, exact (`additionalProperties: false`). `scripts/api_fuzz.py` checks every message a live
/// server sends, and every one it is sent, against these schemas.
enum AsyncAPIDocument {
    static func json() -> String {
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// A message's payload: an object of exactly `properties` (plus `type` = `name`), `required`
    /// naming those it must carry.
    private static func message(_ name: String, _ summary: String, _ properties: [String: Any], optional: Set<String> = []) -> [String: Any] {
        var all = properties
        all["type"] = ["const": name]
        return [
            "name": name, "summary": summary, "contentType": "application/json",
            "payload": [
                "type": "object", "additionalProperties": false, "properties": all,
                "required": (["type"] + properties.keys.filter { !optional.contains($0) }).sorted(),
            ],
        ]
    }

    private static var eventId: [String: Any] { ["type": "string", "pattern": "^[0-9a-f]{24}$"] }
    private static var seatId: [String: Any] { ["type": "string", "minLength": 1] }
    private static var seq: [String: Any] { ["type": "integer", "minimum": 0] }
    private static var userId: [String: Any] { ["type": "string"] }
    private static var code: [String: Any] { ["type": "string", "enum": ErrorCode.allCases.map(\.rawValue).sorted()] }
    private static var seat: [String: Any] {
        [
            "type": "object", "additionalProperties": false, "required": ["id", "label", "row", "number", "price", "status"],
            "properties": [
                "id": seatId, "label": seatId, "row": ["type": "string", "pattern": "^[A-Z]$"], "number": ["type": "integer", "minimum": 1],
                "price": ["type": "number", "minimum": 0], "status": ["type": "string", "enum": ["available", "locked", "booked"]],
                "lockedBy": userId,
            ],
        ]
    }
    private static var hold: [String: Any] {
        [
            "type": "object", "additionalProperties": false, "required": ["id", "eventId", "seatIds", "expiresAt", "fence"],
            "properties": [
                "id": ["type": "string"], "eventId": eventId, "seatIds": ["type": "array", "items": seatId, "minItems": 1],
                "expiresAt": ["type": "string", "format": "date-time"], "fence": ["type": "integer"],
            ],
        ]
    }

    /// What a client sends (PB-LIVE-3).
    static var clientMessages: [String: [String: Any]] {
        [
            "join_event": message(
                "join_event", "Subscribe: answered with a snapshot, or the changes after sinceSeq and joined (PB-LIVE-8)",
                ["eventId": eventId, "sinceSeq": seq], optional: ["sinceSeq"]),
            "leave_event": message("leave_event", "Unsubscribe, releasing the holds this connection acquired in the event", ["eventId": eventId]),
            "request_lock": message("request_lock", "Hold one seat for the caller (PB-HOLD rules)", ["eventId": eventId, "seatId": seatId]),
            "release_lock": message("release_lock", "Release that seat of the caller's hold", ["eventId": eventId, "seatId": seatId]),
        ]
    }

    /// What the server sends (PB-LIVE-4).
    static var serverMessages: [String: [String: Any]] {
        [
            "snapshot": message(
                "snapshot", "Every seat of the event at seq", ["eventId": eventId, "seq": seq, "seats": ["type": "array", "items": seat]]),
            "joined": message("joined", "After the replayed changes of a join with sinceSeq", ["eventId": eventId, "seq": seq]),
            "seat_locked": message("seat_locked", "A seat was held", ["eventId": eventId, "seatId": seatId, "lockedBy": userId, "seq": seq]),
            "seat_released": message(
                "seat_released", "A held seat is free again",
                [
                    "eventId": eventId, "seatId": seatId, "seq": seq, "reason": ["type": "string", "enum": ["released", "expired", "disconnected"]],
                ]),
            "seats_booked": message(
                "seats_booked", "A booking", ["eventId": eventId, "seatIds": ["type": "array", "items": seatId, "minItems": 1], "seq": seq]),
            "seats_released": message(
                "seats_released", "Booked seats back on sale: their booking was cancelled (PB-CHECKOUT-10)",
                [
                    "eventId": eventId, "seatIds": ["type": "array", "items": seatId, "minItems": 1], "seq": seq,
                    "reason": ["type": "string", "enum": ["cancelled"]],
                ]),
            "event_deleted": message("event_deleted", "The event was deleted: its last message (PB-EVENT-7)", ["eventId": eventId, "seq": seq]),
            "lock_acquired": message(
                "lock_acquired", "To the caller of a successful request_lock", ["eventId": eventId, "seatId": seatId, "hold": hold]),
            "lock_failed": message(
                "lock_failed", "To the caller of a refused request_lock",
                [
                    "eventId": eventId, "seatId": seatId, "code": code, "message": ["type": "string"],
                ]),
            "error": message(
                "error", "A bad or failed message; the connection stays open (PB-LIVE-9)", ["code": code, "message": ["type": "string"]]),
        ]
    }

    private static var document: [String: Any] {
        func references(_ messages: [String: [String: Any]]) -> [String: Any] {
            Dictionary(uniqueKeysWithValues: messages.keys.map { ($0, ["$ref": "#/components/messages/\($0)"]) })
        }
        let live = "#/channels/live"
        return [
            "asyncapi": "3.0.0",
            "info": [
                "title": "Pulse Booking Protocol: live updates", "version": "1.0.0",
                "description":
                    "The WebSocket part of SPEC.md (PB-LIVE): JSON text frames, one message each, at most \(PulseServer.webSocketFrameBytesMax) bytes; "
                    + "a connection follows at most \(LiveSession.subscriptionsMax) events. The REST part is GET /openapi.json.",
            ],
            "channels": [
                "live": [
                    "address": "/api/v1/live",
                    "description":
                        "Authenticate with Authorization: Bearer <token> or ?token=<token>. A bad token gets one error message and close 1008.",
                    "messages": references(clientMessages.merging(serverMessages) { first, _ in first }),
                ]
            ],
            "operations": [
                "sendClientMessage": [
                    "action": "receive", "channel": ["$ref": live], "summary": "What a client may send",
                    "messages": clientMessages.keys.sorted().map { ["$ref": "\(live)/messages/\($0)"] },
                ],
                "receiveServerMessage": [
                    "action": "send", "channel": ["$ref": live], "summary": "What the server sends",
                    "messages": serverMessages.keys.sorted().map { ["$ref": "\(live)/messages/\($0)"] },
                ],
            ],
            "components": ["messages": clientMessages.merging(serverMessages) { first, _ in first }],
        ]
    }
}
