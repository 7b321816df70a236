import Foundation

extension Catalogue {
    static let rest: [ConformanceCase] = [
        ConformanceCase("rest.success-envelope", "PB-REST-2", "a list answer is the success envelope with results and data", needs: []) { c in
            let reply = try await c.call(.GET, "/api/v1/events")
            try c.expect(reply, 200)
            try c.check(reply.json["status"] as? String == "success", "status is \(reply.json["status"] ?? "absent"), not success")
            try c.check(reply.json["results"] is NSNumber, "no numeric results")
            try c.check((reply.json["data"] as? [String: Any])?["events"] is [Any], "no data.events list")
        },
        ConformanceCase("rest.id-forms", "PB-REST-3", "user, event and booking ids are 24 hex characters, hold ids 32") { c in
            let event = try await c.event()
            let user = try await c.user()
            try c.check(
                isHex(event, count: 24) && isHex(user.id, count: 24), "event id \(event) or user id \(user.id) is not 24 lower-case hex characters")
            let hold = try await c.hold(event, ["A1"], as: user)
            try c.check(isHex(hold.string("id"), count: 32), "hold id \(hold.string("id") ?? "absent") is not 32 lower-case hex characters")
            let booking = try await c.call(.POST, "/api/v1/events/\(event)/seats", token: user.token, json: ["seatIds": ["A1"]])
            try c.expect(booking, 201)
            try c.check(
                isHex(booking.object("booking").string("id"), count: 24),
                "booking id \(booking.object("booking").string("id") ?? "absent") is not 24 lower-case hex characters")
        },
        ConformanceCase("rest.prefix", "PB-REST-1", "the routes live under /api/v1 and nowhere else", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/events"), 200)
            for path in ["/events", "/api/events", "/api/v2/events"] {
                let reply = try await c.call(.GET, path)
                try c.check(reply.status == 404, "\(path) answered \(reply.status)")
            }
        },
        ConformanceCase("rest.instants", "PB-REST-4", "instants are ISO 8601 UTC with milliseconds") { c in
            let event = try await c.event()
            let hold = try await c.hold(event, ["A1"], as: try await c.user())
            let expires = hold.string("expiresAt") ?? ""
            try c.check(
                expires.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression) != nil,
                "expiresAt \(expires) is not of the form 2027-05-01T19:30:00.000Z")
        },
        ConformanceCase("rest.openapi", "PB-REST-5", .should, "GET /openapi.json describes the API (OpenAPI 3)", needs: []) { c in
            let reply = try await c.call(.GET, "/openapi.json")
            try c.expect(reply, 200)
            try c.check((reply.json["openapi"] as? String)?.hasPrefix("3") == true, "no openapi: 3.x field")
            try c.check((reply.json["paths"] as? [String: Any])?.keys.contains("/api/v1/events") == true, "paths lack /api/v1/events")
        },
        ConformanceCase("rest.malformed-json", "PB-REST-6", "a body that is not JSON is 400 malformed_json") { c in
            let event = try await c.event()
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user().token, raw: "{seatIds: [A1"), 400, "malformed_json"
            )
        },
        ConformanceCase("rest.body-not-object", "PB-REST-6", "a JSON body that is not an object is 400 malformed_json") { c in
            let event = try await c.event()
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user().token, raw: #"["A1"]"#), 400, "malformed_json")
        },
        ConformanceCase("rest.validation-field", "PB-REST-6", "a mistyped field is 400 validation_failed naming it") { c in
            let event = try await c.event()
            let reply = try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user().token, json: ["seatIds": "A1"])
            try c.expect(reply, 400, "validation_failed")
            try c.check(reply.json["field"] as? String == "seatIds", "field is \(reply.json["field"] ?? "absent"), not seatIds")
        },
        ConformanceCase("errors.envelope", "PB-ERR-1", "an error answer is the error envelope: status fail, code, message", needs: []) { c in
            let reply = try await c.call(.GET, "/api/v1/events/000000000000000000000000")
            try c.expect(reply, 404, "event_not_found")
            try c.check(reply.json["status"] as? String == "fail", "status is \(reply.json["status"] ?? "absent"), not fail")
            try c.check((reply.json["message"] as? String)?.isEmpty == false, "no message")
        },
        ConformanceCase("errors.route-not-found", "PB-ERR-2", "an unknown route is 404 route_not_found", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/no-such-route"), 404, "route_not_found")
        },
        ConformanceCase(
            "errors.method-not-allowed", "PB-ERR-2", "a method a path does not have is 405 route_not_found with Allow listing its methods", needs: []
        ) { c in
            let reply = try await c.call(.PUT, "/api/v1/events", json: [:])
            try c.expect(reply, 405, "route_not_found")
            let allowed = Set(reply.headers["Allow"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) })
            try c.check(allowed.isSuperset(of: ["GET", "POST"]) && !allowed.contains("PUT"), "Allow is \(reply.headers["Allow"])")
        },
        ConformanceCase("errors.invalid-id", "PB-EVENT-4", "a path id of the wrong form is 400 invalid_id", needs: []) { c in
            try c.expect(try await c.call(.GET, "/api/v1/events/not-an-id"), 400, "invalid_id")
            try c.expect(try await c.call(.GET, "/api/v1/events/not-an-id/seats"), 400, "invalid_id")
        },
        ConformanceCase("errors.no-5xx-for-bad-input", "PB-ERR-3", "odd inputs never get a 5xx") { c in
            let event = try await c.event()
            let token = try await c.user().token
            let bodies = [
                #"{"seatIds":[null]}"#, #"{"seatIds":[1,2]}"#, #"{"seatIds":{"a":1}}"#, "\u{0}", #"{"seatIds":"A1,A2"}"#, "{}",
                #"{"seatIds":["A1"],"totalAmount":"x"}"#,
            ]
            for body in bodies {
                for path in ["/api/v1/events/\(event)/holds", "/api/v1/events/\(event)/seats"] {
                    let reply = try await c.call(.POST, path, token: token, raw: body)
                    try c.check(reply.status < 500, "\(path) with \(body.debugDescription) answered \(reply.status)")
                }
            }
        },
        ConformanceCase("limits.body-size", "PB-LIMIT-1", "a body above 10 KiB is 413 payload_too_large") { c in
            let event = try await c.event()
            let big = #"{"seatIds":["A1"],"pad":""# + String(repeating: "x", count: 11 * 1024) + #""}"#
            try c.expect(
                try await c.call(.POST, "/api/v1/events/\(event)/holds", token: try await c.user().token, raw: big), 413, "payload_too_large")
        },
        ConformanceCase("security.headers", "PB-SEC-1", .should, "answers carry the security headers", needs: []) { c in
            let reply = try await c.call(.GET, "/api/v1/events")
            for (name, value) in [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")] {
                try c.check(
                    reply.headers.first(name: name)?.lowercased() == value.lowercased(), "\(name) is \(reply.headers.first(name: name) ?? "absent")")
            }
            try c.check(reply.headers.first(name: "Content-Security-Policy") != nil, "no Content-Security-Policy")
        },
        ConformanceCase("operations.ready", "PB-OPS-3", "GET /readyz answers 200 with both stores ready", needs: []) { c in
            let reply = try await c.call(.GET, "/readyz")
            try c.expect(reply, 200)
            let data = reply.json["data"] as? [String: Any] ?? [:]
            try c.check(data["hotStore"] as? String == "ready" && data["durableStore"] as? String == "ready", "got \(reply.json)")
        },
        ConformanceCase("operations.health", "PB-OPS-1", "GET /healthz answers 200", needs: []) { c in
            try c.expect(try await c.call(.GET, "/healthz"), 200)
        },
        ConformanceCase("operations.metrics", "PB-OPS-2", .should, "GET /metrics exports the Pulse counters", needs: []) { c in
            let text = try await c.call(.GET, "/metrics").text
            try c.check(
                text.contains("pulse_holds_granted_total") && text.contains("pulse_bookings_total"),
                "no pulse_holds_granted_total / pulse_bookings_total in /metrics")
        },
    ]
}
