import Hummingbird
import PulseEngine
import PulseProtocol

/// Requires a valid bearer token (header `Authorization: Bearer <jwt>`, or the `token` query
/// parameter for WebSocket upgrades, where browsers cannot set headers) and puts the user in the
/// context (PB-AUTH-3). 401 otherwise.
struct RequireUser: RouterMiddleware {
    typealias Context = PulseRequestContext
    let accounts: AccountService
    var allowQueryToken = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let header = request.headers[.authorization]
        let query = allowQueryToken ? request.uri.queryParameters.get("token") : nil
        context.user = try await accounts.authenticate(authorization: header ?? query)
        return try await next(request, context)
    }
}

/// Requires the authenticated user to be an admin: 403 `forbidden` otherwise (PB-AUTH-4). A user
/// not known as an admin is read afresh first, so a promotion counts at once on every instance.
struct RequireAdmin: RouterMiddleware {
    typealias Context = PulseRequestContext
    let accounts: AccountService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if context.requireUser().role != .admin { context.user = try await accounts.currentUser(id: context.requireUser().id) }
        guard context.requireUser().role == .admin else {
            throw PulseError(status: 403, code: .forbidden, message: "You do not have permission to perform this action")
        }
        return try await next(request, context)
    }
}
