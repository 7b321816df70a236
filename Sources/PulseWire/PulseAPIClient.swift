import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One reply of a Pulse server: the status and the decoded JSON envelope (empty for 204).
public struct APIReply: @unchecked Sendable {
    /// HTTP status code.
    public var status: Int
    /// The parsed JSON object of the body, or an empty object when the body was empty or not an object.
    public var json: [String: Any]
    /// Response headers.
    public var headers: HTTPHeaders
    /// The body as text (for answers that are not JSON, such as /metrics).
    public var text: String = ""

    /// The envelope's `code` on an error reply.
    public var code: String? { json["code"] as? String }
    /// `data[key]` as an object, or an empty object.
    public func object(_ key: String) -> [String: Any] { (json["data"] as? [String: Any])?[key] as? [String: Any] ?? [:] }
    /// `data[key]` as a list of objects, or an empty list.
    public func objects(_ key: String) -> [[String: Any]] { (json["data"] as? [String: Any])?[key] as? [[String: Any]] ?? [] }
}

extension Dictionary where Key == String, Value == Any {
    /// The document's id: `id` (Pulse), else `_id` (a seed-style server returns Mongoose documents as they are).
    public var documentID: String? { self["id"] as? String ?? self["_id"] as? String }
}

/// Why a call to a Pulse server did not give the expected answer.
public struct APIError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A small JSON client of the Pulse Booking Protocol's REST API over async-http-client.
/// It speaks to any target (the reference or another implementation) at `baseURL`.
public struct PulseAPIClient: Sendable {
    /// The server's root, for example `http://127.0.0.1:5000`.
    public let baseURL: String
    let http: HTTPClient
    /// Largest response body read.
    public static let responseBytesMax = 1 << 24

    public init(baseURL: String, http: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = http
    }

    /// Sends `method path` with an optional bearer `token` and JSON `body`; never throws for an HTTP status.
    /// Throws when the server cannot be reached within `timeout`.
    public func call(
        _ method: HTTPMethod, _ path: String, token: String? = nil, json body: [String: Any]? = nil,
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> APIReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        return try await reply(to: request, timeout: timeout)
    }

    /// Sends `method path` with a body of raw bytes, not necessarily UTF-8 (bad-input checks).
    public func call(_ method: HTTPMethod, _ path: String, rawBytes: [UInt8], timeout: TimeAmount = .seconds(30)) async throws -> APIReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: rawBytes))
        return try await reply(to: request, timeout: timeout)
    }

    /// Sends `method path` with a raw body (bad-input checks: malformed JSON, oversized bodies).
    public func call(
        _ method: HTTPMethod, _ path: String, token: String? = nil, rawBody: String, contentType: String = "application/json",
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> APIReply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(string: rawBody))
        return try await reply(to: request, timeout: timeout)
    }

    private func reply(to request: HTTPClientRequest, timeout: TimeAmount) async throws -> APIReply {
        let response = try await http.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: Self.responseBytesMax)
        let object = bytes.readableBytes == 0 ? nil : try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))
        return APIReply(
            status: Int(response.status.code), json: object as? [String: Any] ?? [:], headers: response.headers,
            text: String(decoding: bytes.readableBytesView, as: UTF8.self))
    }

    /// Logs in and returns the token. Throws ``APIError`` unless the server answers 200 with a token.
    public func login(email: String, password: String) async throws -> String {
        let reply = try await call(.POST, "/api/v1/users/login", json: ["email": email, "password": password])
        guard reply.status == 200, let token = reply.json["token"] as? String else {
            throw APIError("login of \(email) failed: \(reply.status) \(reply.json)")
        }
        return token
    }

    /// Signs up a user and returns its token and id. Throws ``APIError`` unless the server answers 201.
    public func signup(name: String, email: String, password: String) async throws -> (token: String, id: String) {
        let reply = try await call(.POST, "/api/v1/users/signup", json: ["name": name, "email": email, "password": password])
        guard reply.status == 201, let token = reply.json["token"] as? String, let id = reply.object("user").documentID else {
            throw APIError("signup of \(email) failed: \(reply.status) \(reply.json)")
        }
        return (token, id)
    }

    /// Creates an event of `rows` × `cols` seats (admin) and returns its id.
    public func createEvent(adminToken: String, title: String, rows: Int, cols: Int, price: Double) async throws -> String {
        let reply = try await call(
            .POST, "/api/v1/events", token: adminToken,
            json: [
                "title": title, "venue": "Pulse Hall", "date": "2030-01-01T20:00:00Z",
                "venueConfig": ["rows": rows, "cols": cols, "price": price],
            ])
        guard reply.status == 201, let id = reply.object("event").documentID else {
            throw APIError("event creation failed: \(reply.status) \(reply.json)")
        }
        return id
    }
}
