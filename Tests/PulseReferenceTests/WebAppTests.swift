import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import PulseReference

/// The browser app's files at `/` (WebAppMiddleware): exactly the files of
/// Sources/PulseReference/Web, each with its media type and the app's Content-Security-Policy;
/// nothing outside that directory; the API untouched.
@Suite("HTTP: the browser app's files")
struct WebAppTests {
    static let webDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/PulseReference/Web")

    @Test("/ is index.html and every file of the app is served byte for byte with its media type and the app's CSP")
    func servesTheShippedFiles() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.webDirectory.path).filter { !$0.hasPrefix(".") }
        #expect(files.contains("index.html"))
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            for name in files + ["/"] {
                let path = name == "/" ? "/" : "/\(name)"
                let expected = try Data(contentsOf: Self.webDirectory.appendingPathComponent(name == "/" ? "index.html" : name))
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(Data(buffer: response.body) == expected, "\(path) is the file as shipped")
                    let type = WebApp.mediaTypes[(name == "/" ? "html" : (name as NSString).pathExtension)]
                    #expect(type != nil && response.headers[.contentType] == type, "\(path): \(response.headers[.contentType] ?? "-")")
                    #expect(response.headers[.contentSecurityPolicy] == WebApp.contentSecurityPolicy)
                    #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "the other security headers stay")
                }
            }
            try await client.execute(uri: "/", method: .head) { response in
                #expect(response.status == .ok && response.body.readableBytes == 0)
                #expect(response.headers[.contentLength].flatMap(Int.init) ?? 0 > 0)
            }
        }
    }

    @Test("nothing outside the app's directory is served, and the API keeps its own headers")
    func nothingElse() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.router) { client in
            for path in ["/..%2FPackage.swift", "/../Package.swift", "/Web/index.html", "/.hidden", "/missing.js", "/index.html.bak", "/app.swift"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path)")
                    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, "\(path): the API's 404 envelope")
                }
            }
            try await client.execute(uri: "/api/v1/events", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'")
            }
        }
    }

    @Test("a directory given with --web-dir is read on every request")
    func watchedDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-web-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let web = WebApp(watching: directory.path)
        #expect(web.file(forPath: "/") == nil)
        try Data("one".utf8).write(to: directory.appendingPathComponent("index.html"))
        #expect(web.file(forPath: "/").map { String(buffer: $0.body) } == "one")
        try Data("two".utf8).write(to: directory.appendingPathComponent("index.html"))
        #expect(web.file(forPath: "/").map { String(buffer: $0.body) } == "two")
        try Data("x".utf8).write(to: directory.appendingPathComponent("notes.txt"))
        #expect(web.file(forPath: "/notes.txt") == nil, "unknown extensions are not served")
    }
}
