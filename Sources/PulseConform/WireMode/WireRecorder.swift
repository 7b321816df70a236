import Foundation
import PulseHistory
import PulseScenario
import Synchronization

/// Appends history records stamped with the wall clock (wire mode runs in real time against a
/// real server; its histories are not reproducible and do not claim to be).
final class WireRecorder: Sendable {
    private let records = Mutex<[HistoryRecord]>([])

    static func nowNs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000_000) }

    func record(_ process: String, _ type: HistoryRecord.Kind, _ f: String, _ value: [String: HistoryValue] = [:], error: String? = nil) {
        records.withLock { records in
            let index = records.count
            records.append(
                HistoryRecord(index: index, timeNs: Self.nowNs(), process: process, type: type, f: f, value: value, error: error, line: index + 1))
        }
    }

    /// Records something observed at `timeNs` (a live message's arrival).
    func record(at timeNs: Int64, _ process: String, _ type: HistoryRecord.Kind, _ f: String, _ value: [String: HistoryValue]) {
        records.withLock { $0.append(HistoryRecord(index: $0.count, timeNs: timeNs, process: process, type: type, f: f, value: value)) }
    }

    /// Every record in time order (records of one process keep their order), numbered by line.
    var all: [HistoryRecord] {
        records.withLock { $0 }.sorted { ($0.timeNs, $0.index) < ($1.timeNs, $1.index) }.enumerated().map { position, record in
            var numbered = record
            numbered.index = position
            numbered.line = position + 1
            return numbered
        }
    }
}

extension HistoryValue {
    /// A JSON value of a server message, as a history value.
    init(json: Any) {
        switch json {
        case let text as String: self = .string(text)
        case let number as NSNumber: self = number.doubleValue == Double(number.int64Value) ? .int(number.int64Value) : .double(number.doubleValue)
        case let list as [Any]: self = .array(list.map { HistoryValue(json: $0) })
        case let object as [String: Any]: self = .object(object.mapValues { HistoryValue(json: $0) })
        default: self = .string("\(json)")
        }
    }
}
