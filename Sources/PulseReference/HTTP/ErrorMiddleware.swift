import PulseEngine
import Hummingbird
import Logging
import PulseProtocol

/// Turns every error into the error envelope (PB-ERR-1): ``PulseError`` as it says, Hummingbird's
/// own errors by status (404 names the path as the seed does), anything else a 500 that says only
/// "Something went wrong!" and is logged. Never a stack trace.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = PulseRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PulseError {
            return JSONResponse.error(error)
        } catch let error as HTTPError {
            return JSONResponse.error(Self.translate(error, request: request))
        } catch let error as any HTTPResponseError where (400..<500).contains(error.status.code) {
            return JSONResponse.error(PulseError(status: error.status.code, code: .validationFailed, message: error.status.reasonPhrase))
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            return JSONResponse.error(PulseError(status: 500, code: .internalError, message: "Something went wrong!"))
        }
    }

    static func translate(_ error: HTTPError, request: Request) -> PulseError {
        switch error.status {
        case .notFound:
            return PulseError(status: 404, code: .routeNotFound, message: "Can't find \(request.uri.path.prefix(200)) on this server!")
        case .contentTooLarge:
            return PulseError(status: 413, code: .payloadTooLarge, message: "Request body exceeds \(PulseRequestContext.requestBodyBytesMax) bytes.")
        case .methodNotAllowed:
            return PulseError(status: 405, code: .routeNotFound, message: "\(request.method) is not allowed on \(request.uri.path.prefix(200)).")
        case let status where status.code >= 500:
            return PulseError(status: 500, code: .internalError, message: "Something went wrong!")
        case let status:
            return PulseError(status: status.code, code: .validationFailed, message: error.body ?? status.reasonPhrase)
        }
    }
}
