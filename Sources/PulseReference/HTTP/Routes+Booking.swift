import Hummingbird
import PulseProtocol

private struct HoldData: Encodable { var hold: HoldResource }
private struct HoldsData: Encodable { var holds: [HoldResource] }
private struct BookingData: Encodable { var booking: BookingResource }
private struct BookingsData: Encodable { var bookings: [BookingResource] }

extension PulseServer {
    /// PB-HOLD and PB-CHECKOUT: holds, checkout and the caller's bookings.
    func addBookingRoutes(to api: RouterGroup<PulseRequestContext>) {
        let engine = engine
        let limiters = userLimiters
        let user = api.group().add(middleware: RequireUser(accounts: accounts))
        user.post("events/:id/holds") { request, context -> Response in
            try UserLimiters.require(limiters.holds, context.requireUser().id, "holds")
            let body = try await request.decodeJSON(HoldRequest.self, context: context)
            let hold = try await engine.hold(eventID: try context.parameters.require("id"), seatIDs: body.seatIds, userID: context.requireUser().id)
            return JSONResponse.success(.created, HoldData(hold: hold.resource))
        }
        user.get("events/:id/holds") { _, context -> Response in
            let holds = try await engine.holds(eventID: try context.parameters.require("id"), userID: context.requireUser().id)
            return JSONResponse.success(results: holds.count, HoldsData(holds: holds.map(\.resource)))
        }
        user.delete("events/:id/holds/:holdId") { _, context -> Response in
            try await engine.release(
                eventID: try context.parameters.require("id"), holdID: try context.parameters.require("holdId"),
                userID: context.requireUser().id)
            return Response(status: .noContent)
        }
        user.post("events/:id/holds/:holdId/extend") { request, context -> Response in
            let body = request.hasBody ? try await request.decodeJSON(ExtendHoldRequest.self, context: context) : ExtendHoldRequest()
            let hold = try await engine.extend(
                eventID: try context.parameters.require("id"), holdID: try context.parameters.require("holdId"),
                userID: context.requireUser().id, seconds: body.seconds)
            return JSONResponse.success(HoldData(hold: hold.resource))
        }
        user.post("events/:id/seats") { request, context -> Response in
            try UserLimiters.require(limiters.checkouts, context.requireUser().id, "checkouts")
            let body = try await request.decodeJSON(CheckoutRequest.self, context: context)
            let key = request.headers[.init("Idempotency-Key")!]
            let result = try await engine.checkout(
                eventID: try context.parameters.require("id"), request: body, idempotencyKey: key,
                userID: context.requireUser().id)
            let headers: HTTPFields = result.replayed ? [.init("Idempotent-Replayed")!: "true"] : [:]
            return JSONResponse.success(.created, BookingData(booking: result.booking.resource), headers: headers)
        }
        user.get("bookings/me") { _, context -> Response in
            let bookings = try await engine.bookings(userID: context.requireUser().id)
            return JSONResponse.success(results: bookings.count, BookingsData(bookings: bookings.map(\.resource)))
        }
        let accounts = accounts
        user.post("bookings/:id/cancel") { request, context -> Response in
            let body = request.hasBody ? try await request.decodeJSON(CancelBookingRequest.self, context: context) : CancelBookingRequest()
            var caller = context.requireUser()
            // A cached role may predate a promotion (roles only grow): read it afresh unless it is admin already.
            if caller.role != .admin { caller = try await accounts.currentUser(id: caller.id) }
            let booking = try await engine.cancelBooking(
                try context.parameters.require("id"), reason: body.reason, userID: caller.id,
                isAdmin: caller.role == .admin)
            return JSONResponse.success(BookingData(booking: booking.resource))
        }
    }
}

extension Request {
    /// Whether the request carries a body (an optional body may be left out altogether).
    var hasBody: Bool { (headers[.contentLength].flatMap(Int.init) ?? 0) > 0 || headers[.transferEncoding] != nil }
}
