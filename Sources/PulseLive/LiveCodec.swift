import Foundation
import NIOCore
import PulseEngine
import PulseProtocol

/// JSON encoding and decoding of live messages, with every decoding failure mapped to a
/// ``LiveDecodeFailure`` (PB-LIVE-9).
public enum LiveCodec {
    /// Encodes a server message as compact JSON with sorted keys (stable bytes for tests and replays).
    public static func encode(_ message: LiveServerMessage) -> String {
        String(decoding: data(message), as: UTF8.self)
    }

    /// The same bytes as a frame, to share among every subscriber it goes to.
    public static func frame(_ message: LiveServerMessage) -> LiveFrame {
        LiveFrame(bytes: ByteBuffer(bytes: data(message)))
    }

    private static func data(_ message: LiveServerMessage) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding these plain value types cannot fail.
        return try! encoder.encode(message)
    }

    /// Decodes a client message or says precisely what is wrong with it.
    public static func decode(_ text: String) -> Result<LiveClientMessage, LiveDecodeFailure> {
        let data = Data(text.utf8)
        guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) is [String: Any] else {
            return .failure(.malformedJSON)
        }
        do {
            return .success(try JSONDecoder().decode(LiveClientMessage.self, from: data))
        } catch let failure as LiveDecodeFailure {
            return .failure(failure)
        } catch DecodingError.keyNotFound(let key, _) {
            return .failure(.invalidField(key.stringValue))
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context) {
            return .failure(.invalidField(context.codingPath.map(\.stringValue).joined(separator: ".")))
        } catch {
            return .failure(.malformedJSON)
        }
    }
}
