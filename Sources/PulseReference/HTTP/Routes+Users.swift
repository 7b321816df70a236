import Hummingbird
import PulseEngine
import PulseProtocol

extension UserRecord {
    var resource: UserResource { UserResource(id: id, name: name, email: email, role: role.rawValue) }
}

struct UserData: Encodable { var user: UserResource }

extension PulseServer {
    /// PB-USER: sign-up and log-in, both rate limited per client address.
    func addUserRoutes(to api: RouterGroup<PulseRequestContext>) {
        let accounts = accounts
        api.group("users/signup").add(middleware: AuthRateLimitMiddleware(engine: engine, limit: authRateLimit, scope: "signup", logger: logger))
            .post { request, context -> Response in
                let (user, token) = try await accounts.signup(try await request.decodeJSON(SignupRequest.self, context: context))
                return JSONResponse.success(.created, token: token, UserData(user: user.resource))
            }
        api.group("users/login").add(middleware: AuthRateLimitMiddleware(engine: engine, limit: authRateLimit, scope: "login", logger: logger))
            .post { request, context -> Response in
                let (user, token) = try await accounts.login(try await request.decodeJSON(LoginRequest.self, context: context))
                return JSONResponse.success(token: token, UserData(user: user.resource))
            }
        api.group("users/me").add(middleware: RequireUser(accounts: accounts))
            .get { _, context -> Response in
                JSONResponse.success(UserData(user: try await accounts.currentUser(id: context.requireUser().id).resource))
            }
    }
}
