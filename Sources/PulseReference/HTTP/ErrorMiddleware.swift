import HTTPTypes
import Hummingbird
import Logging
import PulseEngine
import PulseProtocol

/// Turns every error into the error envelope (PB-ERR-1): ``PulseError`` as it says, Hummingbird's
/// own errors by status (404 names the path as the seed does; a path that exists with other methods
/// is 405 with `Allow`), anything else a 500 that says only "Something went wrong!" and is logged.
/// Never a stack trace.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = PulseRequestContext
    let routes: RouteTable
    /// Names the request in the server's log, on answers whose cause was logged.
    static let requestIDHeader = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PulseError {
            guard let detail = error.logDetail else { return JSONResponse.error(error) }
            // The cause goes to the log under the request's id, which the response carries.
            context.logger.error("\(error.code.rawValue)", metadata: ["detail": "\(detail)", "path": "\(request.uri.path.prefix(200))"])
            var response = JSONResponse.error(error)
            response.headers[Self.requestIDHeader] = context.id
            return response
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = routes.methods(for: request.uri.path)
            guard !allowed.isEmpty, !allowed.contains(request.method.rawValue) else {
                return JSONResponse.error(Self.translate(error, request: request))
            }
            var response = JSONResponse.error(Self.methodNotAllowed(request, allowed: allowed))
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        } catch let error as HTTPError {
            return JSONResponse.error(Self.translate(error, request: request))
        } catch let error as any HTTPResponseError where (400..<500).contains(error.status.code) {
            return JSONResponse.error(PulseError(status: error.status.code, code: .validationFailed, message: error.status.reasonPhrase))
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return JSONResponse.error(PulseError(status: 500, code: .internalError, message: "Something went wrong!"))
        }
    }

    /// 405 `route_not_found`, naming the methods the path has when they are known.
    static func methodNotAllowed(_ request: Request, allowed: [String]) -> PulseError {
        let use = allowed.isEmpty ? "" : "; use \(allowed.joined(separator: ", "))"
        return PulseError(status: 405, code: .routeNotFound, message: "\(request.method) is not allowed on \(request.uri.path.prefix(200))\(use).")
    }

    static func translate(_ error: HTTPError, request: Request) -> PulseError {
        switch error.status {
        case .notFound:
            return PulseError(status: 404, code: .routeNotFound, message: "Can't find \(request.uri.path.prefix(200)) on this server!")
        case .contentTooLarge:
            return PulseError(status: 413, code: .payloadTooLarge, message: "Request body exceeds \(PulseRequestContext.requestBodyBytesMax) bytes.")
        case .methodNotAllowed:
            return methodNotAllowed(request, allowed: [])
        case let status where status.code >= 500:
            return PulseError(status: 500, code: .internalError, message: "Something went wrong!")
        case let status:
            return PulseError(status: status.code, code: .validationFailed, message: error.body ?? status.reasonPhrase)
        }
    }
}
