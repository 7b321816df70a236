import PulseEngine
import PulseProtocol

/// Shared snapshots. The hub keeps the last encoded snapshot of each event and hands the same
/// text to every joiner while it is current (no change after its seq has been read from the log,
/// so it is at least as new as anything any subscriber of this hub has seen) and young
/// (``snapshotReuseMs``). While a snapshot is being made, later joiners are queued and get it
/// when it is ready, if it is at least as new as what the hub had read when they joined (else
/// the next one, made right after; a store that went back in time, such as a lagging replica
/// promoted without a rebuild, gets no third try). Nobody waits on anybody, and a join storm costs
/// a few seat maps, not one per joiner.
extension LiveHub {
    struct SharedSnapshot {
        let seq: Int64
        let frame: LiveFrame
        let madeAtMs: Int64
    }

    /// How long a current snapshot is handed to further joiners, in the engine's milliseconds.
    public static let snapshotReuseMs: Int64 = 1_000

    /// Sends the event's shared snapshot to a joiner and returns its seq; nil when one is being
    /// made: the joiner then gets it (or the next), and is registered, when it is ready.
    func sendSharedSnapshot(eventID: String, to outbox: any LiveSink, subscriberID: Int) async throws -> Int64? {
        let newest = newestSeq[eventID] ?? .min
        if let shared = snapshots[eventID], shared.seq >= newest, engine.clock.nowMs() - shared.madeAtMs <= Self.snapshotReuseMs {
            outbox.send(shared.frame)
            return shared.seq
        }
        if refreshing.contains(eventID) {
            awaiting[eventID, default: [:]][subscriberID] = (outbox, newest)
            return nil
        }
        return try await sendFreshSnapshot(eventID: eventID, to: outbox)
    }

    /// Makes the event's snapshot now, keeps it for later joiners, sends it to `outbox` and to the
    /// queued joiners it is new enough for (registering them), making another for the rest, and
    /// returns the first one's seq. Throws what the engine throws; the queued joiners then get an
    /// `error` instead.
    func sendFreshSnapshot(eventID: String, to outbox: any LiveSink) async throws -> Int64 {
        var first: Int64?
        var makes = 0
        repeat {
            makes += 1
            refreshing.insert(eventID)
            let made: SharedSnapshot
            do {
                let map = try await engine.seatMap(eventID)
                made = SharedSnapshot(
                    seq: map.seq, frame: LiveCodec.frame(.snapshot(eventId: eventID, seq: map.seq, seats: map.seats)),
                    madeAtMs: engine.clock.nowMs())
            } catch {
                refreshing.remove(eventID)
                let pulse = PulseError.from(error)
                for (_, queued) in (awaiting.removeValue(forKey: eventID) ?? [:]).sorted(by: { $0.key < $1.key }) {
                    queued.outbox.send(LiveCodec.frame(.error(code: pulse.code, message: pulse.message)))
                }
                if first == nil { throw error }
                return first!
            }
            refreshing.remove(eventID)
            // Another maker may have kept a newer one meanwhile: keep the newest.
            if (snapshots[eventID]?.seq ?? .min) <= made.seq { snapshots[eventID] = made }
            if first == nil {
                outbox.send(made.frame)
                first = made.seq
            }
            let queued = awaiting.removeValue(forKey: eventID) ?? [:]
            for (id, joiner) in queued.sorted(by: { $0.key < $1.key }) where joiner.needSeq <= made.seq || makes >= 2 {
                joiner.outbox.send(made.frame)
                register(eventID: eventID, subscriberID: id, outbox: joiner.outbox, cursor: made.seq)
            }
            let later = queued.filter { $0.value.needSeq > made.seq && makes < 2 }
            if !later.isEmpty { awaiting[eventID, default: [:]].merge(later) { _, new in new } }
        } while awaiting[eventID]?.isEmpty == false
        return first!
    }
}
