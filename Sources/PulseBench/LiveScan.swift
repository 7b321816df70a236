import Foundation

/// Cheap readers of live messages for measuring clients, which must not spend longer parsing a
/// message than the server spent sending it.
enum LiveScan {
    private static let seqKey = Array(#""seq":"#.utf8)

    /// The first `"seq":<integer>` of a message; nil if it has none.
    static func seq(in text: String) -> Int64? {
        var utf8 = text
        return utf8.withUTF8 { bytes -> Int64? in
            guard bytes.count >= seqKey.count else { return nil }
            var index = 0
            while index + seqKey.count <= bytes.count {
                if bytes[index] == UInt8(ascii: "\""), bytes[index..<index + seqKey.count].elementsEqual(seqKey) {
                    var position = index + seqKey.count
                    var value: Int64 = 0
                    var digits = 0
                    while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                        value = value * 10 + Int64(bytes[position] - UInt8(ascii: "0"))
                        position += 1
                        digits += 1
                    }
                    return digits > 0 ? value : nil
                }
                index += 1
            }
            return nil
        }
    }

    /// The `seq` of a `snapshot` message; nil for any other message.
    static func snapshotSeq(in text: String) -> Int64? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
            object["type"] as? String == "snapshot", let seq = object["seq"] as? Int
        else { return nil }
        return Int64(seq)
    }
}
