import PulseProtocol

/// The last `capacity` changes of one event, for replay on re-join (PB-LIVE-8). Seqs in the log
/// are contiguous: the log holds exactly the changes `firstSeq...lastSeq`.
struct ChangeLog: Sendable {
    private var buffer: [SeatChange] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    mutating func append(_ change: SeatChange) {
        if buffer.count < capacity {
            buffer.append(change)
        } else {
            buffer[head] = change
            head = (head + 1) % capacity
        }
    }

    /// The changes with seq greater than `seq`, or nil when some of them were trimmed.
    /// `lastSeq` is the event's current seq.
    func after(_ seq: Int64, lastSeq: Int64) -> [SeatChange]? {
        if seq == lastSeq { return [] }
        let firstSeq = lastSeq - Int64(buffer.count) + 1
        guard seq < lastSeq, seq >= firstSeq - 1 else { return nil }
        let skip = Int(seq - (firstSeq - 1))
        return (skip..<buffer.count).map { buffer[(head + $0) % buffer.count] }
    }
}
