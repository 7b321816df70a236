import Foundation
import Hummingbird

/// The browser app's files (HTML, CSS, JavaScript modules), served at `/` by ``WebAppMiddleware``:
/// those shipped with the binary (the SwiftPM resources of Sources/PulseReference/Web), or a
/// directory read on every request (`pulse serve --web-dir`, for working on the app).
public struct WebApp: Sendable {
    /// A file's bytes and media type.
    struct File: Sendable {
        var body: ByteBuffer
        var contentType: String
    }

    /// Files by name, read once; nil when read from `directory` on every request.
    private let files: [String: File]?
    private let directory: String?

    /// The Content-Security-Policy of the app's files: its own scripts, styles and images, and
    /// requests (REST and the WebSocket) to its own origin only; nothing inline.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// Media types by file extension; other files are not served.
    static let mediaTypes = [
        "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json; charset=utf-8",
    ]

    /// The app shipped with the binary: SwiftPM puts the target's resources in
    /// `Pulse_PulseReference.resources` beside the executable. Nil when they are not there (a
    /// binary copied elsewhere alone), where `Bundle.module` would stop the process instead.
    public static func bundled() -> WebApp? {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let beside = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("Pulse_PulseReference.resources/Web")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: beside.path, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        return try? WebApp(loading: beside.path)
    }

    /// Every file of `directory`, read now. Throws when the directory cannot be read.
    public init(loading directory: String) throws {
        var files: [String: File] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            if let file = Self.read(name, in: directory) { files[name] = file }
        }
        self.files = files
        self.directory = nil
    }

    /// The files of `directory`, read on every request (edits show on reload).
    public init(watching directory: String) {
        files = nil
        self.directory = directory
    }

    /// The file a request path names: `/` is `index.html`; any other path must be one plain file
    /// name with a known extension (no directories, no dot files).
    func file(forPath path: String) -> File? {
        let name = path == "/" ? "index.html" : String(path.dropFirst())
        guard path.hasPrefix("/"), Self.isPlainName(name) else { return nil }
        if let files { return files[name] }
        return directory.flatMap { Self.read(name, in: $0) }
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".")
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
                    || byte == UInt8(ascii: "_")
            }
    }

    private static func read(_ name: String, in directory: String) -> File? {
        guard isPlainName(name), let type = mediaTypes[(name as NSString).pathExtension.lowercased()],
            let data = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name))
        else { return nil }
        return File(body: ByteBuffer(bytes: data), contentType: type)
    }
}

/// Answers `GET` and `HEAD` of the app's files (``WebApp``) before the API's routes see them;
/// everything else passes on.
struct WebAppMiddleware<Context: RequestContext>: RouterMiddleware {
    let app: WebApp

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get || request.method == .head, !request.uri.path.hasPrefix("/api/"),
            let file = app.file(forPath: request.uri.path)
        else { return try await next(request, context) }
        var headers: HTTPFields = [.contentType: file.contentType, .cacheControl: "no-cache"]
        headers[.contentSecurityPolicy] = WebApp.contentSecurityPolicy
        headers[.contentLength] = String(file.body.readableBytes)
        return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: file.body))
    }
}
