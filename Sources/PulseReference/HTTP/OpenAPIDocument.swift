import Foundation
import PulseEngine
import PulseProtocol

/// The OpenAPI 3.1 description of the REST API, served at `GET /openapi.json` (PB-REST-5).
/// A test checks that its paths and methods are exactly the router's, and CI validates it
/// with openapi-spec-validator.
enum OpenAPIDocument {
    /// The document for a server with `configuration` (its hold TTL bounds an extension, its caps
    /// bound the seat lists): the template below with the answers every route of a kind can give
    /// added to each (see ``addSharedResponses(_:)``), written with sorted keys.
    static func json(configuration: EngineConfiguration) -> String {
        let text = template.replacingOccurrences(of: "HOLD_TTL_SECONDS", with: String(configuration.holdTTLSeconds))
            .replacingOccurrences(of: "SEATS_PER_HOLD_MAX", with: String(configuration.seatsPerHoldMax))
            .replacingOccurrences(of: "HELD_SEATS_PER_USER_MAX", with: String(configuration.heldSeatsPerUserMax))
            .replacingOccurrences(of: "CANCELLATION_REASON_MAX", with: String(configuration.cancellationReasonLengthMax))
            .replacingOccurrences(of: "ERROR_CODES", with: ErrorCode.allCases.map { "\"\($0.rawValue)\"" }.sorted().joined(separator: ", "))
        guard var document = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            preconditionFailure("the OpenAPI template is not a JSON object")
        }
        addSharedResponses(&document)
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// Routes that never read a store: everything else can answer 503 `store_unavailable`.
    static let storeFreePaths: Set<String> = ["/openapi.json", "/asyncapi.json", "/metrics", "/healthz", "/api/v1/live"]

    /// Adds the answers that whole kinds of routes share, so that no route forgets one: 503 on every
    /// route that reads a store (PB-ERR-4), 400 `malformed_json` and 413 `payload_too_large` on every
    /// route with a body (PB-ERR-3, PB-LIMIT-1), 429 `rate_limited` on the per-user limited routes
    /// (PB-LIMIT-4).
    static func addSharedResponses(_ document: inout [String: Any]) {
        let error: [String: Any] = ["$ref": "#/components/responses/Error"]
        guard var paths = document["paths"] as? [String: [String: Any]] else { return }
        for (path, operations) in paths {
            var operations = operations
            for (method, value) in operations {
                guard var operation = value as? [String: Any], var responses = operation["responses"] as? [String: Any] else { continue }
                var shared: [String] = []
                if !storeFreePaths.contains(path) { shared.append("503") }
                if operation["requestBody"] != nil { shared += ["400", "413"] }
                if rateLimitedOperations.contains("\(method.uppercased()) \(path)") { shared.append("429") }
                for status in shared where responses[status] == nil { responses[status] = error }
                operation["responses"] = responses
                operations[method] = operation
            }
            paths[path] = operations
        }
        document["paths"] = paths
    }

    /// The operations under a per-user rate limit (PB-LIMIT-4).
    static let rateLimitedOperations: Set<String> = ["POST /api/v1/events/{id}/holds", "POST /api/v1/events/{id}/seats"]

    private static let template = #"""
        {
          "openapi": "3.1.0",
          "info": {"title": "Pulse Booking Protocol", "version": "1.0.0",
                   "description": "The REST part of the Pulse Booking Protocol v1 (SPEC.md). Live updates use the WebSocket at /api/v1/live."},
          "servers": [{"url": "/"}],
          "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "parameters": {
              "eventId": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$"}},
              "bookingId": {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$"}},
              "holdId": {"name": "holdId", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}},
              "idempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
            },
            "schemas": {
              "Error": {"type": "object", "required": ["status", "code", "message"], "properties": {
                "status": {"type": "string", "enum": ["fail", "error"]}, "code": {"type": "string", "enum": [ERROR_CODES]}, "message": {"type": "string"},
                "seatIds": {"type": "array", "items": {"type": "string"}}, "field": {"type": "string"},
                "expectedAmount": {"type": "number"}, "outcomeUnknown": {"type": "boolean"}}},
              "User": {"type": "object", "required": ["id", "name", "email", "role"], "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "email": {"type": "string"}, "role": {"type": "string", "enum": ["user", "admin"]}}},
              "VenueConfig": {"type": "object", "required": ["rows", "cols", "price"], "properties": {
                "rows": {"type": "integer", "minimum": 1, "maximum": 26}, "cols": {"type": "integer", "minimum": 1, "maximum": 50},
                "price": {"type": "number", "minimum": 0, "maximum": 100000, "multipleOf": 0.01, "description": "at most two decimals"}}},
              "Event": {"type": "object", "required": ["id", "title", "venue", "date", "isActive", "venueConfig", "totalSeats", "availableSeats"], "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "venue": {"type": "string"}, "date": {"type": "string", "format": "date-time"},
                "description": {"type": "string"}, "isActive": {"type": "boolean"}, "venueConfig": {"$ref": "#/components/schemas/VenueConfig"},
                "totalSeats": {"type": "integer"}, "availableSeats": {"type": "integer"}}},
              "Seat": {"type": "object", "required": ["id", "label", "row", "number", "price", "status"], "properties": {
                "id": {"type": "string"}, "label": {"type": "string"}, "row": {"type": "string"}, "number": {"type": "integer"},
                "price": {"type": "number"}, "status": {"type": "string", "enum": ["available", "locked", "booked"]}, "lockedBy": {"type": "string"}}},
              "Hold": {"type": "object", "required": ["id", "eventId", "seatIds", "expiresAt", "fence"], "properties": {
                "id": {"type": "string"}, "eventId": {"type": "string"}, "seatIds": {"type": "array", "items": {"type": "string"}},
                "expiresAt": {"type": "string", "format": "date-time"}, "fence": {"type": "integer"}}},
              "Booking": {"type": "object", "required": ["id", "eventId", "userId", "seatIds", "totalAmount", "status", "createdAt"], "properties": {
                "id": {"type": "string"}, "eventId": {"type": "string"}, "userId": {"type": "string"}, "seatIds": {"type": "array", "items": {"type": "string"}},
                "totalAmount": {"type": "number"}, "status": {"type": "string", "enum": ["confirmed", "cancelled"]}, "createdAt": {"type": "string", "format": "date-time"},
                "cancelledAt": {"type": "string", "format": "date-time", "description": "present when cancelled (PB-CHECKOUT-8)"},
                "cancellationReason": {"type": "string", "description": "the reason the cancellation gave, if any"}}},
              "SeatLabel": {"type": "string", "pattern": "^[A-Z][1-9][0-9]?$", "description": "row letter and column number, as A1 or C12"},
              "HoldSeatIds": {"type": "array", "minItems": 1, "maxItems": SEATS_PER_HOLD_MAX, "uniqueItems": true, "items": {"$ref": "#/components/schemas/SeatLabel"}},
              "CheckoutSeatIds": {"type": "array", "minItems": 1, "maxItems": HELD_SEATS_PER_USER_MAX, "uniqueItems": true, "items": {"$ref": "#/components/schemas/SeatLabel"}},
              "Text": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]", "description": "1...200 characters once trimmed (of Unicode White_Space, listed)"},
              "Description": {"type": ["string", "null"], "maxLength": 2000, "description": "null: none"},
              "Date": {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}],
                       "description": "ISO 8601 date or date-time; stored as UTC with milliseconds"}
            },
            "responses": {
              "Error": {"description": "Error envelope with a stable code", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
              "NoContent": {"description": "Done"}
            }
          },
          "paths": {
            "/api/v1/users/signup": {"post": {"summary": "Register (rate limited)", "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "required": ["name", "email", "password"], "properties": {
                  "name": {"type": "string", "minLength": 2, "maxLength": 100, "pattern": "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000].*[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]", "description": "2...100 characters once trimmed (of Unicode White_Space, listed)"},
                  "email": {"type": "string", "maxLength": 254, "pattern": "^[^@\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]+@[^@\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000.][^@\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*\\.[^@\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]*[^@\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000.]$",
                    "description": "one @, no white space (Unicode White_Space, listed), a dot inside the domain; checked on code points"},
                  "password": {"type": "string", "minLength": 6, "maxLength": 72}}}}}},
              "responses": {"201": {"description": "Registered", "content": {"application/json": {"schema": {"type": "object", "properties": {
                  "status": {"const": "success"}, "token": {"type": "string"}, "data": {"type": "object", "properties": {"user": {"$ref": "#/components/schemas/User"}}}}}}}},
                "400": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"},
                "413": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/users/login": {"post": {"summary": "Log in (rate limited)", "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object", "required": ["email", "password"], "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}}}},
              "responses": {"200": {"description": "Logged in", "content": {"application/json": {"schema": {"type": "object", "properties": {
                  "status": {"const": "success"}, "token": {"type": "string"}, "data": {"type": "object", "properties": {"user": {"$ref": "#/components/schemas/User"}}}}}}}},
                "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/users/me": {"get": {"summary": "The caller", "security": [{"bearer": []}],
              "responses": {"200": {"description": "The caller"}, "401": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/events": {
              "get": {"summary": "Active events, soonest first", "responses": {"200": {"description": "Events", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"results": {"type": "integer"}, "data": {"type": "object", "properties": {
                    "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}}}}}}}},
              "post": {"summary": "Create an event and its seat grid (admin)", "security": [{"bearer": []}], "requestBody": {"required": true, "content": {"application/json": {"schema": {
                  "type": "object", "required": ["title", "venue", "date", "venueConfig"], "properties": {
                    "title": {"$ref": "#/components/schemas/Text"}, "venue": {"$ref": "#/components/schemas/Text"}, "date": {"$ref": "#/components/schemas/Date"},
                    "description": {"$ref": "#/components/schemas/Description"}, "venueConfig": {"$ref": "#/components/schemas/VenueConfig"}}}}}},
                "responses": {"201": {"description": "Created"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/events/{id}": {
              "parameters": [{"$ref": "#/components/parameters/eventId"}],
              "get": {"summary": "One event", "responses": {"200": {"description": "The event"}, "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
              "patch": {"summary": "Change title, venue, date, description or isActive (admin); venueConfig is refused", "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {
                  "title": {"anyOf": [{"$ref": "#/components/schemas/Text"}, {"type": "null"}]},
                  "venue": {"anyOf": [{"$ref": "#/components/schemas/Text"}, {"type": "null"}]},
                  "date": {"anyOf": [{"$ref": "#/components/schemas/Date"}, {"type": "null"}]},
                  "description": {"$ref": "#/components/schemas/Description"}, "isActive": {"type": ["boolean", "null"]},
                  "venueConfig": {"type": "null", "description": "a venue never changes: any other value is 400 venue_config_immutable"}},
                  "description": "a null member is the same as an absent one: unchanged"}}}},
                "responses": {"200": {"description": "Updated"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
              "delete": {"summary": "Delete (admin)", "security": [{"bearer": []}],
                "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/events/{id}/seats": {
              "parameters": [{"$ref": "#/components/parameters/eventId"}],
              "get": {"summary": "Merged seat map with the event's seq", "responses": {"200": {"description": "Seat map", "content": {"application/json": {"schema": {
                  "type": "object", "properties": {"results": {"type": "integer"}, "data": {"type": "object", "required": ["eventId", "seq", "seats"], "properties": {
                    "eventId": {"type": "string"}, "seq": {"type": "integer"}, "seats": {"type": "array", "items": {"$ref": "#/components/schemas/Seat"}}}}}}}}},
                "400": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
              "post": {"summary": "Checkout: book seats the caller holds", "security": [{"bearer": []}],
                "parameters": [{"$ref": "#/components/parameters/idempotencyKey"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["seatIds"], "properties": {
                  "seatIds": {"$ref": "#/components/schemas/CheckoutSeatIds"}, "holdId": {"type": ["string", "null"]}, "totalAmount": {"type": ["number", "null"]}},
                  "description": "a null member is the same as an absent one"}}}},
                "responses": {"201": {"description": "Booked (or replayed for the same Idempotency-Key)", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"data": {"type": "object", "properties": {"booking": {"$ref": "#/components/schemas/Booking"}}}}}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"}, "410": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"},
                  "503": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/events/{id}/holds": {
              "parameters": [{"$ref": "#/components/parameters/eventId"}],
              "post": {"summary": "Hold seats, all or nothing", "security": [{"bearer": []}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["seatIds"], "properties": {
                  "seatIds": {"$ref": "#/components/schemas/HoldSeatIds"}}}}}},
                "responses": {"201": {"description": "Held", "content": {"application/json": {"schema": {"type": "object", "properties": {
                    "data": {"type": "object", "properties": {"hold": {"$ref": "#/components/schemas/Hold"}}}}}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
              "get": {"summary": "The caller's live holds in the event", "security": [{"bearer": []}],
                "responses": {"200": {"description": "Holds"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/events/{id}/holds/{holdId}": {
              "parameters": [{"$ref": "#/components/parameters/eventId"}, {"$ref": "#/components/parameters/holdId"}],
              "delete": {"summary": "Release the caller's hold", "security": [{"bearer": []}],
                "responses": {"204": {"$ref": "#/components/responses/NoContent"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/events/{id}/holds/{holdId}/extend": {
              "parameters": [{"$ref": "#/components/parameters/eventId"}, {"$ref": "#/components/parameters/holdId"}],
              "post": {"summary": "Extend the caller's hold (capped)", "security": [{"bearer": []}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"seconds": {"type": ["integer", "null"], "minimum": 1, "maximum": HOLD_TTL_SECONDS,
                  "description": "1...the hold's TTL (the server's, HOLD_TTL_SECONDS s, unless a test-control header set another); null or absent: the hold's own TTL"}}}}}},
                "responses": {"200": {"description": "Extended"}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
                  "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "410": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/bookings/me": {"get": {"summary": "The caller's bookings, newest first", "security": [{"bearer": []}],
              "responses": {"200": {"description": "Bookings", "content": {"application/json": {"schema": {"type": "object", "properties": {
                  "results": {"type": "integer"}, "data": {"type": "object", "properties": {"bookings": {"type": "array", "items": {"$ref": "#/components/schemas/Booking"}}}}}}}}},
                "401": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/bookings/{id}/cancel": {
              "parameters": [{"$ref": "#/components/parameters/bookingId"}],
              "post": {"summary": "Cancel a booking (the caller's, or any for an admin); idempotent; its seats go back on sale", "security": [{"bearer": []}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {
                  "reason": {"type": ["string", "null"], "minLength": 1, "maxLength": CANCELLATION_REASON_MAX, "description": "kept with the booking; null or absent: none"}}}}}},
                "responses": {"200": {"description": "Cancelled (now or before)", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"data": {"type": "object", "properties": {"booking": {"$ref": "#/components/schemas/Booking"}}}}}}}},
                  "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
                  "409": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
            "/api/v1/live": {"get": {"summary": "Live protocol: WebSocket upgrade (token in Authorization or ?token=); a plain GET gets 426",
              "security": [{"bearer": []}],
              "responses": {"101": {"description": "Switching protocols"}, "401": {"$ref": "#/components/responses/Error"},
                "426": {"$ref": "#/components/responses/Error"}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI document"}}}},
            "/asyncapi.json": {"get": {"summary": "The live protocol's messages: an AsyncAPI 3.0 document with a JSON Schema per message",
              "responses": {"200": {"description": "AsyncAPI document"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text exposition format"}}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: the hot and the durable store both answer", "responses": {"200": {"description": "Ready"},
              "503": {"$ref": "#/components/responses/Error"}}}}
          }
        }
        """#
}
