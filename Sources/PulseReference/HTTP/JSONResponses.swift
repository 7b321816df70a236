import Foundation
import Hummingbird
import PulseEngine
import PulseProtocol

/// The seed's success envelope: `{"status":"success","results"?,"token"?,"data":{...}}` (PB-REST-2).
struct SuccessEnvelope<Data: Encodable>: Encodable {
    let status = "success"
    var results: Int?
    var token: String?
    var data: Data
}

/// The error envelope: `{"status":"fail"|"error","code","message",...details}` (PB-ERR-1).
struct ErrorEnvelope: Encodable {
    var status: String
    var code: ErrorCode
    var message: String
    var seatIds: [String]?
    var field: String?
    var expectedAmount: Double?
    var outcomeUnknown: Bool?

    init(_ error: PulseError) {
        status = error.status >= 500 ? "error" : "fail"
        code = error.code
        message = error.message
        seatIds = error.seatIds
        field = error.field
        expectedAmount = error.expectedAmount
        outcomeUnknown = error.outcomeUnknown
    }

    /// The envelope as `JSONEncoder` with sorted keys writes it, written by hand (every 409 of a
    /// flash sale is one); nil when it carries an amount, whose number formatting is left to Foundation.
    var handWritten: [UInt8]? {
        guard expectedAmount == nil else { return nil }
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(64 + message.utf8.count + (seatIds?.count ?? 0) * 8)
        // Sorted keys, as JSONEncoder writes them.
        JSONText.appendMember("code", first: true, to: &out) { JSONText.appendString(code.rawValue, to: &$0) }
        if let field { JSONText.appendMember("field", to: &out) { JSONText.appendString(field, to: &$0) } }
        JSONText.appendMember("message", to: &out) { JSONText.appendString(message, to: &$0) }
        if let outcomeUnknown { JSONText.appendMember("outcomeUnknown", to: &out) { $0 += Array((outcomeUnknown ? "true" : "false").utf8) } }
        if let seatIds { JSONText.appendMember("seatIds", to: &out) { JSONText.appendStrings(seatIds, to: &$0) } }
        JSONText.appendMember("status", to: &out) { JSONText.appendString(status, to: &$0) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ body: some Encodable, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Plain value types; encoding cannot fail.
        let data = try! encoder.encode(body)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A success envelope around `data`.
    static func success(_ status: HTTPResponse.Status, results: Int? = nil, token: String? = nil, _ data: some Encodable, headers: HTTPFields = [:])
        -> Response
    {
        make(status, SuccessEnvelope(results: results, token: token, data: data), headers: headers)
    }

    /// A 200 success envelope around `data`.
    static func success(results: Int? = nil, token: String? = nil, _ data: some Encodable, headers: HTTPFields = [:]) -> Response {
        success(.ok, results: results, token: token, data, headers: headers)
    }

    static func error(_ error: PulseError) -> Response {
        var headers: HTTPFields = [:]
        if let retry = error.retryAfterSeconds { headers[.retryAfter] = String(retry) }
        let envelope = ErrorEnvelope(error)
        guard let bytes = envelope.handWritten else { return make(HTTPResponse.Status(code: error.status), envelope, headers: headers) }
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: HTTPResponse.Status(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension Request {
    /// Decodes the JSON body strictly: 413 `payload_too_large` above the body limit, 400
    /// `malformed_json` when it is not a JSON object, 400 `validation_failed` naming the field
    /// that is missing or has the wrong type.
    func decodeJSON<T: Decodable>(_ type: T.Type, context: PulseRequestContext) async throws -> T {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: PulseRequestContext.requestBodyBytesMax)
        } catch {
            throw PulseError(status: 413, code: .payloadTooLarge, message: "Request body exceeds \(PulseRequestContext.requestBodyBytesMax) bytes.")
        }
        let malformed = PulseError(status: 400, code: .malformedJSON, message: "Request body must be a JSON object.")
        // One parse: a body that does not open an object is refused here, and one that is not valid
        // JSON fails decoding at its root (the decoder scans the whole document before decoding;
        // a field's own failures always carry a coding path).
        guard buffer.readableBytesView.first(where: { !Self.jsonWhitespace.contains($0) }) == UInt8(ascii: "{") else { throw malformed }
        let data = Data(buffer: buffer)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw malformed
        } catch DecodingError.keyNotFound(let key, let context) {
            throw PulseError.invalid(Self.path(context.codingPath + [key]), "Missing field '\(Self.path(context.codingPath + [key]))'.")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context) {
            throw PulseError.invalid(Self.path(context.codingPath), "Field '\(Self.path(context.codingPath))' has the wrong type or value.")
        }
    }

    private static let jsonWhitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
}
