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
///
/// Joiners share snapshots (LiveHub+Snapshots.swift), so a join storm costs one seat map and one
/// encoding, not one per joiner.
public actor LiveHub: Service {
    struct Subscriber {
        let outbox: any LiveSink
        var cursor: Int64
    }

    let engine: BookingEngine
    private let catchUp: any LiveCatchUp
    private var subscribers: [String: [Int: Subscriber]] = [:]
    /// A lower bound of the event's subscribers' cursors: a pump reads the log from there, and a
    /// pump that finds nothing after it costs nothing, however many subscribers wait (a join storm).
    private var lowestCursor: [String: Int64] = [:]
    private var pumping: Set<String> = []
    private var pumpAgain: Set<String> = []
    private var nextSubscriberID = 0
    /// The last snapshot of each event, encoded (LiveHub+Snapshots.swift).
    var snapshots: [String: SharedSnapshot] = [:]
    /// Events whose shared snapshot is being made now.
    var refreshing: Set<String> = []
    /// Joiners waiting for the snapshot being made, each with the newest seq the hub had read when
    /// it joined (its snapshot must not be older: the client may have seen that one).
    var awaiting: [String: [Int: (outbox: any LiveSink, needSeq: Int64)]] = [:]
    /// The newest seq the hub has read from each event's log.
    var newestSeq: [String: Int64] = [:]

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
    /// the missed changes and `joined` when `sinceSeq` is still in the log, else a `snapshot`
    /// (at once, or as soon as the one being made is ready); live changes follow from there.
    /// Throws a ``PulseError`` (unknown event, store unavailable).
    public func join(eventID: String, sinceSeq: Int64?, subscriberID: Int, outbox: any LiveSink) async throws {
        subscribers[eventID]?[subscriberID] = nil
        awaiting[eventID]?[subscriberID] = nil
        let cursor: Int64
        if let sinceSeq, let missed = try await catchUp.missed(eventID: eventID, afterSeq: sinceSeq, engine: engine) {
            for change in missed { outbox.send(LiveCodec.frame(.change(change))) }
            cursor = missed.last?.seq ?? sinceSeq
            outbox.send(LiveCodec.frame(.joined(eventId: eventID, seq: cursor)))
        } else {
            // nil: the subscriber waits for the snapshot another joiner is making, and is
            // registered when it is sent.
            guard let seq = try await sendSharedSnapshot(eventID: eventID, to: outbox, subscriberID: subscriberID) else { return }
            cursor = seq
        }
        register(eventID: eventID, subscriberID: subscriberID, outbox: outbox, cursor: cursor)
        await pump(eventID)
    }

    /// Adds a subscriber whose next change is the one after `cursor`; a pump in progress runs once
    /// more, so that it is caught up at once.
    func register(eventID: String, subscriberID: Int, outbox: any LiveSink, cursor: Int64) {
        subscribers[eventID, default: [:]][subscriberID] = Subscriber(outbox: outbox, cursor: cursor)
        lowestCursor[eventID] = min(lowestCursor[eventID] ?? cursor, cursor)
        if pumping.contains(eventID) { pumpAgain.insert(eventID) }
    }

    /// Ends a subscription.
    public func leave(eventID: String, subscriberID: Int) {
        awaiting[eventID]?[subscriberID] = nil
        subscribers[eventID]?[subscriberID] = nil
        if subscribers[eventID]?.isEmpty == true {
            subscribers[eventID] = nil
            lowestCursor[eventID] = nil
        }
    }

    /// Ends every subscription of a connection.
    public func leaveAll(subscriberID: Int) {
        for eventID in Set(subscribers.keys).union(awaiting.keys).sorted() { leave(eventID: eventID, subscriberID: subscriberID) }
    }

    /// Number of live subscriptions (for tests and metrics).
    public var subscriptionCount: Int { subscribers.values.reduce(0) { $0 + $1.count } + awaiting.values.reduce(0) { $0 + $1.count } }

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
        guard subscribers[eventID]?.isEmpty == false, let oldest = lowestCursor[eventID] else { return }
        let outcome = try? await engine.changes(eventID: eventID, afterSeq: oldest)
        let encoded: [(seq: Int64, frame: LiveFrame)]
        var deleted = false
        switch outcome {
        case .changes(let changes)?:
            // Nothing after the lowest cursor is nothing for anyone: a join storm's pumps end here.
            guard let last = changes.last?.seq else { return }
            newestSeq[eventID] = max(newestSeq[eventID] ?? .min, last)
            encoded = changes.map { ($0.seq, LiveCodec.frame(.change($0))) }
            deleted = changes.contains { if case .eventDeleted = $0 { true } else { false } }
        case .trimmed?:
            encoded = []
        case nil:
            // The store is unavailable; the next change or sweep rings the feed again.
            pumpAgain.remove(eventID)
            return
        }
        for subscriberID in (subscribers[eventID] ?? [:]).keys.sorted() {
            guard var subscriber = subscribers[eventID]?[subscriberID] else { continue }
            if encoded.isEmpty {
                // This subscriber (or an older one) fell out of the log: resync it with a snapshot.
                if let own = try? await catchUp.missed(eventID: eventID, afterSeq: subscriber.cursor, engine: engine) {
                    for change in own { subscriber.outbox.send(LiveCodec.frame(.change(change))) }
                    subscriber.cursor = own.last?.seq ?? subscriber.cursor
                } else if let seq = try? await sendFreshSnapshot(eventID: eventID, to: subscriber.outbox) {
                    subscriber.cursor = seq
                }
            } else if subscriber.cursor < oldest {
                // Joined while the log was being read, from a snapshot older than the batch's
                // start: the batch lacks the changes it needs first. The next pass reads from it.
                pumpAgain.insert(eventID)
                continue
            } else {
                for change in encoded where change.seq > subscriber.cursor {
                    guard subscriber.outbox.send(change.frame) else { break }
                    subscriber.cursor = change.seq
                }
            }
            if subscribers[eventID]?[subscriberID] != nil { subscribers[eventID]?[subscriberID] = subscriber }
        }
        if deleted {
            // `event_deleted` was the event's last change: its subscriptions end with it (PB-EVENT-7).
            subscribers[eventID] = nil
            lowestCursor[eventID] = nil
            return
        }
        // Over every subscriber present now (no suspension point after this line).
        lowestCursor[eventID] = subscribers[eventID]?.values.lazy.map(\.cursor).min()
    }
}
