import Foundation

/// Why a history file cannot be read; names the line.
public struct HistoryReadError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var problem: String
    public var description: String { "line \(line): \(problem)" }
}

/// Reads and writes JSON Lines histories.
public enum HistoryReader {
    private struct Line: Decodable {
        var index: Int
        var time_ns: Int64
        var process: String
        var type: HistoryRecord.Kind
        var f: String
        var value: [String: HistoryValue]?
        var error: String?
    }

    /// Parses a whole history. Blank lines are skipped. Throws ``HistoryReadError`` naming the
    /// first line that is not a record, or whose time goes backwards.
    public static func parse(_ text: String) throws -> [HistoryRecord] {
        var records: [HistoryRecord] = []
        var lastTime = Int64.min
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            guard !raw.allSatisfy(\.isWhitespace) else { continue }
            let line: Line
            do {
                line = try JSONDecoder().decode(Line.self, from: Data(raw.utf8))
            } catch DecodingError.keyNotFound(let key, _) {
                throw HistoryReadError(line: lineNumber, problem: "missing field '\(key.stringValue)'")
            } catch DecodingError.dataCorrupted(let context) where context.codingPath.last?.stringValue == "type" {
                throw HistoryReadError(line: lineNumber, problem: "type must be invoke, ok, fail, info, observe or fault")
            } catch {
                throw HistoryReadError(line: lineNumber, problem: "not a history record (a JSON object with index, time_ns, process, type, f)")
            }
            guard line.time_ns >= lastTime else { throw HistoryReadError(line: lineNumber, problem: "time_ns goes backwards") }
            lastTime = line.time_ns
            records.append(
                HistoryRecord(
                    index: line.index, timeNs: line.time_ns, process: line.process, type: line.type, f: line.f,
                    value: line.value ?? [:], error: line.error, line: lineNumber))
        }
        return records
    }

    /// One record as a JSON line (sorted keys: byte-identical for identical records).
    public static func encode(_ record: HistoryRecord) -> String {
        var object: [String: HistoryValue] = [
            "index": .int(Int64(record.index)), "time_ns": .int(record.timeNs), "process": .string(record.process),
            "type": .string(record.type.rawValue), "f": .string(record.f), "value": .object(record.value),
        ]
        if let error = record.error { object["error"] = .string(error) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(object), as: UTF8.self)
    }
}
