/// Events as this process last read them, each with the hot store's stamp read just before, so
/// the hold path needs no durable read. The cache is never trusted on its own: a hold passes the
/// stamp into its hot-store step, which refuses it if the event has changed since
/// (``HotStore/touchEvent(eventID:)`` after every update or deletion, on any instance), and only
/// the answer "active" is taken from it (anything else is read again before it is acted on).
/// An entry also lapses after ``maxAgeMs``: if an update's touch failed (the hot store was down
/// after the durable write; the update then answered 503 with its outcome unknown), no instance
/// acts on the old record for longer than that.
final class EventCache: Sendable {
    struct Entry: Sendable {
        /// The hot store's stamp, read before `event` was read from the durable store.
        var stamp: Int64
        var event: EventRecord
        /// When it was read, on the engine's clock.
        var readAtMs: Int64
        /// The event's date, parsed once (holds close then: PB-EVENT-8).
        var startsAtMs: Int64?

        init(stamp: Int64, event: EventRecord, readAtMs: Int64) {
            self.stamp = stamp
            self.event = event
            self.readAtMs = readAtMs
            startsAtMs = event.startsAtMs
        }

        /// Whether the cached copy says the event takes holds at `nowMs`.
        func isOpen(nowMs: Int64) -> Bool { (try? event.requireOpen(nowMs: nowMs, startsAtMs: startsAtMs)) != nil }
    }

    static let maxAgeMs: Int64 = 1_000
    private let entries = BoundedCache<String, Entry>(capacity: 10_000)

    /// The entry, unless it is older than ``maxAgeMs`` at `nowMs`.
    func entry(_ eventID: String, nowMs: Int64) -> Entry? {
        entries[eventID].flatMap { nowMs - $0.readAtMs <= Self.maxAgeMs ? $0 : nil }
    }

    func store(_ entry: Entry) { entries.store(entry, for: entry.event.id) }

    func forget(_ eventID: String) { entries.remove(eventID) }
}
