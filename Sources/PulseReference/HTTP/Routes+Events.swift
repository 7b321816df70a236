import Hummingbird
import PulseProtocol

private struct EventData: Encodable { var event: EventResource }
private struct EventsData: Encodable { var events: [EventResource] }
private struct SeatMapData: Encodable {
    var eventId: String
    var seq: Int64
    var seats: [SeatResource]
}

extension PulseServer {
    /// PB-EVENT and PB-SEAT: listing, admin management and the merged seat map.
    func addEventRoutes(to api: RouterGroup<PulseRequestContext>) {
        let engine = engine
        let requireUser = RequireUser(accounts: accounts)
        api.get("events") { _, _ -> Response in
            let events = try await engine.listEvents()
            return JSONResponse.success(results: events.count, EventsData(events: events))
        }
        api.get("events/:id") { _, context -> Response in
            JSONResponse.success(EventData(event: try await engine.event(try context.parameters.require("id"))))
        }
        api.get("events/:id/seats") { _, context -> Response in
            let eventID = try context.parameters.require("id")
            let map = try await engine.seatMap(eventID)
            return JSONResponse.success(results: map.seats.count, SeatMapData(eventId: eventID, seq: map.seq, seats: map.seats))
        }
        let admin = api.group("events").add(middleware: requireUser).add(middleware: RequireAdmin(accounts: accounts))
        admin.post { request, context -> Response in
            let event = try await engine.createEvent(try await request.decodeJSON(CreateEventRequest.self, context: context))
            return JSONResponse.success(.created, EventData(event: event))
        }
        admin.patch(":id") { request, context -> Response in
            let eventID = try context.parameters.require("id")
            let event = try await engine.updateEvent(eventID, try await request.decodeJSON(UpdateEventRequest.self, context: context))
            return JSONResponse.success(EventData(event: event))
        }
        admin.delete(":id") { _, context -> Response in
            try await engine.deleteEvent(try context.parameters.require("id"))
            return Response(status: .noContent)
        }
    }
}
