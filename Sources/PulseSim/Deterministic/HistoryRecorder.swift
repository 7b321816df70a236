import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario
import Synchronization

/// Appends history records stamped with the virtual clock, in the order the (one at a time)
/// simulated processes make them.
final class HistoryRecorder: Sendable {
    private let records = Mutex<[HistoryRecord]>([])
    let clock: ManualClock

    init(clock: ManualClock) { self.clock = clock }

    func record(_ process: String, _ type: HistoryRecord.Kind, _ f: String, _ value: [String: HistoryValue] = [:], error: String? = nil) {
        records.withLock { records in
            let index = records.count
            records.append(
                HistoryRecord(
                    index: index, timeNs: clock.nowMs() * 1_000_000, process: process, type: type, f: f,
                    value: value, error: error, line: index + 1))
        }
    }

    var all: [HistoryRecord] { records.withLock { $0 } }
}
