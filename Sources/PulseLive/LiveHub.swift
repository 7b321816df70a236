import PulseEngine
import PulseProtocol
import ServiceLifecycle

/// Delivers every event's changes to that event's subscribers in seq order, without gaps
/// (PB-LIVE-5, PB-LIVE-7).
///
/// Pull-based: the hot store's ``ChangeFeed`` says which events changed; the hub then reads the
/// changes after each subscriber's cursor from the store's log. A subscriber therefore receives
/// exactly the seqs after its snapshot (or its `sinceSeq`), each once, in order. One pump runs per
/// event at a time. A subscriber whose cursor fell out of the log gets a fresh snapshot.
public actor LiveHub: Service {
    struct Subscriber {
        let outbox: any LiveSink
        var cursor: Int64
    }

    private let engine: BookingEngine
    private let catchUp: any LiveCatchUp
    private var subscribers: [String: [Int: Subscriber]] = [:]
    private var pumping: Set<String> = []
    private var pumpAgain: Set<String> = []
    private var nextSubscriberID = 0

    /// - Parameter catchUp: how a (re)joining or lagging subscriber catches up (the log, in production).
    public init(engine: BookingEngine, catchUp: any LiveCatchUp = LogCatchUp()) {
        self.engine = engine
        self.catchUp = catchUp
    }

    private var hot: any HotStore { engine.hot }

    /// Pumps changed events until graceful shutdown.
    public func run() async throws {
        let feed = hot.changeFeed
        try await withGracefulShutdownHandler {
            while let events = await feed.next() {
                for eventID in events { await pump(eventID) }
            }
        } onGracefulShutdown: {
            feed.finish()
        }
    }

    /// A number identifying one connection's subscriptions.
    public func newSubscriberID() -> Int {
        nextSubscriberID += 1
        return nextSubscriberID
    }

    /// Subscribes `subscriberID` to an event (replacing an earlier subscription of it). Queues
    /// the missed changes and `joined` when `sinceSeq` is still in the log, else a `snapshot`;
    /// live changes follow from there. Throws a ``PulseError`` (unknown event, store unavailable).
    public func join(eventID: String, sinceSeq: Int64?, subscriberID: Int, outbox: any LiveSink) async throws {
        subscribers[eventID]?[subscriberID] = nil
        var cursor: Int64
        if let sinceSeq, let missed = try await catchUp.missed(eventID: eventID, afterSeq: sinceSeq, engine: engine) {
            for change in missed { outbox.send(LiveCodec.encode(.change(change))) }
            cursor = missed.last?.seq ?? sinceSeq
            outbox.send(LiveCodec.encode(.joined(eventId: eventID, seq: cursor)))
        } else {
            cursor = try await sendSnapshot(eventID: eventID, to: outbox)
        }
        subscribers[eventID, default: [:]][subscriberID] = Subscriber(outbox: outbox, cursor: cursor)
        await pump(eventID)
    }

    /// Ends a subscription.
    public func leave(eventID: String, subscriberID: Int) {
        subscribers[eventID]?[subscriberID] = nil
        if subscribers[eventID]?.isEmpty == true { subscribers[eventID] = nil }
    }

    /// Ends every subscription of a connection.
    public func leaveAll(subscriberID: Int) {
        for eventID in subscribers.keys.sorted() { leave(eventID: eventID, subscriberID: subscriberID) }
    }

    /// Number of live subscriptions (for tests and metrics).
    public var subscriptionCount: Int { subscribers.values.reduce(0) { $0 + $1.count } }

    private func sendSnapshot(eventID: String, to outbox: any LiveSink) async throws -> Int64 {
        let map = try await engine.seatMap(eventID)
        outbox.send(LiveCodec.encode(.snapshot(eventId: eventID, seq: map.seq, seats: map.seats)))
        return map.seq
    }

    /// Delivers the event's new changes to its subscribers; re-runs while more arrive meanwhile.
    /// ``run()`` calls it for every event the change feed rings; a driver without that loop (the
    /// simulator, on virtual time) calls it for the events ``ChangeFeed/takeChanged()`` returns.
    public func pump(_ eventID: String) async {
        guard !pumping.contains(eventID) else {
            pumpAgain.insert(eventID)
            return
        }
        pumping.insert(eventID)
        defer { pumping.remove(eventID) }
        repeat {
            pumpAgain.remove(eventID)
            await deliver(eventID)
        } while pumpAgain.contains(eventID)
    }

    private func deliver(_ eventID: String) async {
        guard let cursors = subscribers[eventID]?.values.map(\.cursor), let oldest = cursors.min() else { return }
        let outcome = try? await engine.changes(eventID: eventID, afterSeq: oldest)
        let encoded: [(seq: Int64, text: String)]
        if case .changes(let changes)? = outcome {
            encoded = changes.map { ($0.seq, LiveCodec.encode(.change($0))) }
        } else {
            encoded = []
        }
        for subscriberID in (subscribers[eventID] ?? [:]).keys.sorted() {
            guard var subscriber = subscribers[eventID]?[subscriberID] else { continue }
            switch outcome {
            case .changes:
                for change in encoded where change.seq > subscriber.cursor {
                    guard subscriber.outbox.send(change.text) else { break }
                    subscriber.cursor = change.seq
                }
            case .trimmed:
                // This subscriber (or an older one) fell out of the log: resync it with a snapshot.
                if let own = try? await catchUp.missed(eventID: eventID, afterSeq: subscriber.cursor, engine: engine) {
                    for change in own { subscriber.outbox.send(LiveCodec.encode(.change(change))) }
                    subscriber.cursor = own.last?.seq ?? subscriber.cursor
                } else if let seq = try? await sendSnapshot(eventID: eventID, to: subscriber.outbox) {
                    subscriber.cursor = seq
                }
            case nil:
                // The store is unavailable; the next change or sweep rings the feed again.
                pumpAgain.remove(eventID)
                return
            }
            if subscribers[eventID]?[subscriberID] != nil { subscribers[eventID]?[subscriberID] = subscriber }
        }
    }
}
