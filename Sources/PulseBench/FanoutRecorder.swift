import PulseReference
import Synchronization

/// What the subscribers of a fan-out run observed: when each numbered change was triggered,
/// when each subscriber received it, and anything that broke the protocol (gaps, reordering).
final class FanoutRecorder: Sendable {
    fileprivate struct State {
        var triggeredAtNs: [UInt64?]
        var receivedNs: [[UInt64]]
        var baseSeq: Int64?
        var ready = 0
        var failed = 0
        var problems: [String] = []
        var problemCount = 0
    }
    private let state: Mutex<State>
    private let start = ContinuousClock.now
    /// Problems kept for the report; more are counted, not stored.
    static let problemsKept = 20

    init(rounds: Int) {
        state = Mutex(State(triggeredAtNs: Array(repeating: nil, count: rounds), receivedNs: Array(repeating: [], count: rounds)))
    }

    /// Nanoseconds since the recorder was made (monotonic).
    func nowNs() -> UInt64 {
        UInt64((ContinuousClock.now - start).nanoseconds)
    }

    /// A subscriber's snapshot arrived at `seq`; every subscriber must see the same one.
    func joined(seq: Int64) {
        state.withLock { state in
            if let base = state.baseSeq, base != seq { state.note("a subscriber's snapshot is at seq \(seq), another's at \(base)") }
            state.baseSeq = state.baseSeq ?? seq
            state.ready += 1
        }
    }

    /// A subscriber could not connect or join.
    func failed(_ problem: String) {
        state.withLock { state in
            state.failed += 1
            state.note(problem)
        }
    }

    /// Records that change `round` is about to be triggered.
    func trigger(round: Int) { state.withLock { $0.triggeredAtNs[round] = nowNs() } }

    /// A subscriber received the change numbered `seq` at `atNs`, after the one numbered `previous`.
    func received(seq: Int64, previous: Int64, atNs: UInt64) {
        state.withLock { state in
            guard seq == previous + 1 else { return state.note("a subscriber received seq \(seq) after \(previous)") }
            guard let base = state.baseSeq, seq > base, Int(seq - base) <= state.receivedNs.count else {
                return state.note("unexpected change seq \(seq)")
            }
            let round = Int(seq - base) - 1
            guard let triggered = state.triggeredAtNs[round] else { return state.note("seq \(seq) arrived before it was triggered") }
            state.receivedNs[round].append(atNs &- triggered)
        }
    }

    /// A subscriber received something that is not part of the run.
    func unexpected(_ problem: String) { state.withLock { $0.note(problem) } }

    var readyCount: Int { state.withLock { $0.ready } }
    var failedCount: Int { state.withLock { $0.failed } }
    var baseSeq: Int64? { state.withLock { $0.baseSeq } }
    var problems: [String] { state.withLock { $0.problems } }
    var problemCount: Int { state.withLock { $0.problemCount } }
    func deliveries(round: Int) -> Int { state.withLock { $0.receivedNs[round].count } }
    var latencies: [[UInt64]] { state.withLock { $0.receivedNs } }
}

extension FanoutRecorder.State {
    fileprivate mutating func note(_ problem: String) {
        problemCount += 1
        if problems.count < FanoutRecorder.problemsKept { problems.append(problem) }
    }
}
