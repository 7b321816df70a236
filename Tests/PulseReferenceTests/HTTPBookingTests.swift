import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import PulseEngine
@testable import PulseReference

@Suite("HTTP: events, seats, holds, checkout")
struct HTTPBookingTests {
    @Test("events: create, list with availability, get, patch, refuse venue changes, delete")
    func eventLifecycle() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let admin = try await client.adminToken()
            let later = try await client.call(
                .post, "/api/v1/events", token: admin,
                json: [
                    "title": "Later", "venue": "Hall", "date": "2027-06-01T20:00:00+02:00", "venueConfig": ["rows": 2, "cols": 3, "price": 9.99],
                ])
            #expect(later.status == .created)
            let event = later.object("event")
            #expect(event["date"] as? String == "2027-06-01T18:00:00.000Z")
            #expect(event["totalSeats"] as? Int == 6)
            let soonID = try await client.createEvent(admin: admin, rows: 1, cols: 2)
            let list = try await client.call(.get, "/api/v1/events")
            #expect(list.json["results"] as? Int == 2)
            #expect((list.data["events"] as? [[String: Any]])?.map { $0["id"] as? String } == [soonID, event["id"] as? String], "soonest first")

            let laterID = event["id"] as! String
            #expect(try await client.call(.get, "/api/v1/events/\(laterID)").object("event")["title"] as? String == "Later")
            let patched = try await client.call(.patch, "/api/v1/events/\(laterID)", token: admin, json: ["title": "Renamed", "isActive": false])
            #expect(patched.object("event")["title"] as? String == "Renamed")
            #expect(patched.object("event")["isActive"] as? Bool == false)
            #expect(try await client.call(.get, "/api/v1/events").json["results"] as? Int == 1, "inactive events are not listed")
            let venue = try await client.call(
                .patch, "/api/v1/events/\(laterID)", token: admin, json: ["venueConfig": ["rows": 1, "cols": 1, "price": 1]])
            #expect(venue.status == .badRequest)
            #expect(venue.code == "venue_config_immutable")
            #expect(try await client.call(.delete, "/api/v1/events/\(laterID)", token: admin).status == .noContent)
            #expect(try await client.call(.get, "/api/v1/events/\(laterID)").code == "event_not_found")
            #expect(try await client.call(.delete, "/api/v1/events/\(laterID)", token: admin).status == .notFound)
        }
    }

    @Test("an inactive event refuses holds and checkouts with 409 event_inactive; a deleted one keeps its bookings")
    func inactiveAndDeletedEvents() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let admin = try await client.adminToken()
            let event = try await client.createEvent(admin: admin)
            let (ada, _) = try await client.signup("Ada")
            #expect(try await client.hold(event, ["A1"], token: ada).status == .created)
            #expect(try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A1"]]).status == .created)
            #expect(try await client.hold(event, ["A2"], token: ada).status == .created)
            _ = try await client.call(.patch, "/api/v1/events/\(event)", token: admin, json: ["isActive": false])
            let hold = try await client.hold(event, ["B1"], token: ada)
            #expect(hold.status == .conflict)
            #expect(hold.code == "event_inactive")
            let checkout = try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A2"]])
            #expect(checkout.code == "event_inactive")
            let map = try await client.call(.get, "/api/v1/events/\(event)/seats")
            #expect(map.status == .ok, "the seat map of an inactive event stays readable")
            #expect((map.data["seats"] as? [[String: Any]])?.first?["status"] as? String == "booked")
            #expect(try await client.call(.delete, "/api/v1/events/\(event)", token: admin).status == .noContent)
            #expect(try await client.call(.get, "/api/v1/events/\(event)/seats").code == "event_not_found")
            let bookings = try await client.call(.get, "/api/v1/bookings/me", token: ada)
            #expect(bookings.json["results"] as? Int == 1, "bookings of a deleted event stay")
        }
    }

    @Test("event creation validates the venue: rows 1...26, cols 1...50, price with two decimals, a real date")
    func eventValidation() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let admin = try await client.adminToken()
            for (config, date, field) in [
                (["rows": 27, "cols": 1, "price": 1], "2027-01-01", "venueConfig.rows"),
                (["rows": 1, "cols": 51, "price": 1], "2027-01-01", "venueConfig.cols"),
                (["rows": 1, "cols": 1, "price": 1.234], "2027-01-01", "venueConfig.price"),
                (["rows": 1, "cols": 1, "price": -1], "2027-01-01", "venueConfig.price"),
                (["rows": 1, "cols": 1, "price": 1], "2027-02-30", "date"),
            ] as [([String: Any], String, String)] {
                let reply = try await client.call(
                    .post, "/api/v1/events", token: admin, json: ["title": "T", "venue": "V", "date": date, "venueConfig": config])
                #expect(reply.status == .badRequest)
                #expect(reply.json["field"] as? String == field)
            }
        }
    }

    @Test("bad and unknown event ids get 400 invalid_id and 404 event_not_found on every event route")
    func badEventIDs() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let (user, _) = try await client.signup("Ada")
            let unknown = String(repeating: "0", count: 24)
            for id in ["not-an-id", unknown] {
                let expected = id == unknown ? "event_not_found" : "invalid_id"
                #expect(try await client.call(.get, "/api/v1/events/\(id)").code == expected)
                #expect(try await client.call(.get, "/api/v1/events/\(id)/seats").code == expected)
                #expect(try await client.hold(id, ["A1"], token: user).code == expected)
                #expect(try await client.call(.post, "/api/v1/events/\(id)/seats", token: user, json: ["seatIds": ["A1"]]).code == expected)
            }
        }
    }

    @Test("the seat map merges booked, locked (with lockedBy) and available seats at the event's seq")
    func seatMap() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken(), rows: 1, cols: 3, price: 5)
            let (ada, adaID) = try await client.signup("Ada")
            let before = try await client.call(.get, "/api/v1/events/\(event)/seats")
            let seq0 = before.data["seq"] as! Int
            _ = try await client.hold(event, ["A1", "A2"], token: ada)
            #expect(try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A1"]]).status == .created)
            let map = try await client.call(.get, "/api/v1/events/\(event)/seats")
            #expect(map.json["results"] as? Int == 3)
            #expect(map.data["seq"] as? Int == seq0 + 3)
            let seats = map.data["seats"] as! [[String: Any]]
            #expect(seats.map { $0["status"] as? String } == ["booked", "locked", "available"])
            #expect(seats[1]["lockedBy"] as? String == adaID)
            #expect(seats[0]["lockedBy"] == nil)
            #expect(seats[2]["label"] as? String == "A3" && seats[2]["row"] as? String == "A" && seats[2]["number"] as? Int == 3)
            #expect(seats[0]["price"] as? Double == 5)
        }
    }

    @Test("holds: 201 with id, eventId, seatIds, expiresAt and fence; 409 names the taken seats; owner-only release; extend")
    func holds() async throws {
        let server = try await TestServer.make(holdTTLSeconds: 100)
        try await server.application().test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            let (bob, _) = try await client.signup("Bob")
            let granted = try await client.hold(event, ["A1", "A2"], token: ada)
            #expect(granted.status == .created)
            let hold = granted.object("hold")
            let holdID = try #require(hold["id"] as? String)
            #expect(hold["eventId"] as? String == event)
            #expect(hold["seatIds"] as? [String] == ["A1", "A2"])
            #expect(hold["expiresAt"] as? String == ISOTime.format(ms: server.clock.nowMs() + 100_000))
            #expect(hold["fence"] as? Int != nil)

            let conflict = try await client.hold(event, ["A3", "A2"], token: bob)
            #expect(conflict.status == .conflict)
            #expect(conflict.code == "seat_unavailable")
            #expect(conflict.json["seatIds"] as? [String] == ["A2"])
            #expect(try await client.call(.get, "/api/v1/events/\(event)/holds", token: ada).json["results"] as? Int == 1)

            server.clock.advance(byMs: 30_000)
            let extended = try await client.call(.post, "/api/v1/events/\(event)/holds/\(holdID)/extend", token: ada, json: ["seconds": 50])
            #expect(extended.status == .ok)
            #expect(extended.object("hold")["expiresAt"] as? String == ISOTime.format(ms: server.clock.nowMs() + 70_000), "never shortened")
            let noBody = try await client.call(.post, "/api/v1/events/\(event)/holds/\(holdID)/extend", token: ada)
            #expect(noBody.object("hold")["expiresAt"] as? String == ISOTime.format(ms: server.clock.nowMs() + 100_000))

            let stolen = try await client.call(.delete, "/api/v1/events/\(event)/holds/\(holdID)", token: bob)
            #expect(stolen.status == .notFound)
            #expect(stolen.code == "hold_not_found")
            #expect(try await client.call(.delete, "/api/v1/events/\(event)/holds/not-a-hold", token: ada).status == .notFound)
            #expect(try await client.call(.delete, "/api/v1/events/\(event)/holds/\(holdID)", token: ada).status == .noContent)
            #expect(try await client.hold(event, ["A2"], token: bob).status == .created)
        }
    }

    @Test("checkout: 201 at the server price, 422 for a wrong amount, replay with Idempotency-Key, bookings newest first")
    func checkout() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken(), price: 7.25)
            let (ada, adaID) = try await client.signup("Ada")
            let hold = try await client.hold(event, ["A1", "A2", "B1"], token: ada).object("hold")["id"] as! String
            let wrong = try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A1"], "totalAmount": 1])
            #expect(wrong.status == .unprocessableContent)
            #expect(wrong.code == "amount_mismatch")
            #expect(wrong.json["expectedAmount"] as? Double == 7.25)

            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "order-1"]
            let first = try await client.call(
                .post, "/api/v1/events/\(event)/seats", token: ada,
                json: ["seatIds": ["A1", "A2"], "holdId": hold, "totalAmount": 14.5], headers: key)
            #expect(first.status == .created)
            let booking = first.object("booking")
            #expect(booking["status"] as? String == "confirmed")
            #expect(booking["totalAmount"] as? Double == 14.5)
            #expect(booking["userId"] as? String == adaID)
            #expect(booking["seatIds"] as? [String] == ["A1", "A2"])
            let retry = try await client.call(
                .post, "/api/v1/events/\(event)/seats", token: ada,
                json: ["seatIds": ["A1", "A2"], "holdId": hold, "totalAmount": 14.5], headers: key)
            #expect(retry.status == .created)
            #expect(retry.object("booking")["id"] as? String == booking["id"] as? String)
            #expect(retry.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")

            server.clock.advance(byMs: 1000)
            let second = try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["B1"]])
            #expect(second.status == .created)
            let mine = try await client.call(.get, "/api/v1/bookings/me", token: ada)
            #expect(mine.json["results"] as? Int == 2)
            #expect((mine.data["bookings"] as? [[String: Any]])?.map { $0["seatIds"] as? [String] } == [["B1"], ["A1", "A2"]])

            let again = try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A1"]])
            #expect(again.status == .conflict)
            #expect(again.code == "hold_required")
        }
    }

    @Test("checkout after the hold expired fails with 410 hold_expired and books nothing")
    func checkoutAfterExpiry() async throws {
        let server = try await TestServer.make(holdTTLSeconds: 10)
        try await server.application().test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            let hold = try await client.hold(event, ["A1"], token: ada).object("hold")["id"] as! String
            server.clock.advance(byMs: 10_000)
            let late = try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A1"], "holdId": hold])
            #expect(late.status == .gone)
            #expect(late.code == "hold_expired")
            #expect(try await client.call(.get, "/api/v1/bookings/me", token: ada).json["results"] as? Int == 0)
        }
    }

    @Test("the OpenAPI document lists exactly the router's routes, and /metrics exports the engine's counters")
    func openAPIAndMetrics() async throws {
        let test = try await TestServer.make()
        let routes = Set(test.server.buildRouter().routes.map { "\($0.method.rawValue) \($0.path.description)" })
        let expected = OpenAPIDocument.json(configuration: test.server.engine.configuration)
        let document = try JSONSerialization.jsonObject(with: Data(expected.utf8)) as! [String: Any]
        let paths = document["paths"] as! [String: [String: Any]]
        var documented: Set<String> = []
        for (path, operations) in paths {
            for method in operations.keys where method != "parameters" { documented.insert("\(method.uppercased()) \(path)") }
        }
        #expect(documented == routes)
        try await test.application().test(.router) { client in
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            _ = try await client.hold(event, ["A1"], token: ada)
            let served = try await client.execute(uri: "/openapi.json", method: .get) { String(buffer: $0.body) }
            #expect(served == expected)
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("pulse_holds_granted_total 1"))
            #expect(metrics.contains("pulse_http_requests_total"))
        }
    }
}
