import Foundation
import PulseProtocol
import PulseSQLite
import Synchronization
import Testing

@testable import PulseEngine
@testable import PulseLive

/// A hot store whose next `changes` read, once armed, waits until it is let go (a slow Redis),
/// saying when it has started waiting.
final class GatedChangesHotStore: HotStoreDecorator {
    let inner: any HotStore
    private let armed = Atomic<Bool>(false)
    private let entered: AsyncStream<Void>.Continuation
    let enteredSignals: AsyncStream<Void>
    private let release: AsyncStream<Void>.Continuation
    private let releaseSignals: AsyncStream<Void>

    init(_ inner: any HotStore) {
        self.inner = inner
        (enteredSignals, entered) = AsyncStream.makeStream()
        (releaseSignals, release) = AsyncStream.makeStream()
    }

    func arm() { armed.store(true, ordering: .relaxed) }
    func letGo() { release.yield() }

    func changes(eventID: String, afterSeq: Int64) async throws -> ChangesOutcome {
        let outcome = try await inner.changes(eventID: eventID, afterSeq: afterSeq)
        if armed.exchange(false, ordering: .relaxed) {
            entered.yield()
            for await _ in releaseSignals { break }
        }
        return outcome
    }
}

/// What one subscriber was sent, decoded.
final class CollectingSink: LiveSink {
    private let frames = Mutex<[LiveFrame]>([])
    func send(_ frame: LiveFrame) -> Bool {
        frames.withLock { $0.append(frame) }
        return true
    }
    var seqs: [Int64] {
        frames.withLock { $0 }.compactMap { frame -> Int64? in
            guard case .change(let change)? = try? JSONDecoder().decode(LiveServerMessage.self, from: Data(frame.bytes.readableBytesView)) else {
                return nil
            }
            return change.seq
        }
    }
}

@Suite("Live hub: interleavings the hub must survive")
struct LiveHubRaceTests {
    @Test("a subscriber registered from an older snapshot while a pump reads the log still gets every change after it, in order (PB-LIVE-7)")
    func joinDuringPumpGetsEveryChange() async throws {
        let durable = try SQLiteDurableStore()
        let gated = GatedChangesHotStore(InMemoryHotStore(generation: try await durable.nextHotGeneration()))
        let engine = BookingEngine(
            configuration: EngineConfiguration(), hot: gated, durable: durable, clock: ManualClock(), ids: SeededIdentifierSource(seed: 1))
        let event = try await engine.createEvent(
            CreateEventRequest(
                title: "Show", venue: "Hall", date: "2027-01-01",
                venueConfig: VenueConfig(rows: 1, cols: 5, price: 10))
        ).id
        let hub = LiveHub(engine: engine)
        let early = CollectingSink()
        let subscriberID = await hub.newSubscriberID()
        try await hub.join(eventID: event, sinceSeq: nil, subscriberID: subscriberID, outbox: early)
        let base = try await engine.seatMap(event).seq
        for (index, seat) in ["A1", "A2"].enumerated() {
            _ = try await engine.hold(eventID: event, seatIDs: [seat], userID: String(repeating: "\(index + 1)", count: 24))
        }
        await hub.pump(event)
        #expect(early.seqs == [base + 1, base + 2])
        _ = try await engine.hold(eventID: event, seatIDs: ["A3"], userID: String(repeating: "3", count: 24))
        // The pump reads the changes after the lowest cursor (base + 2) and is held there, while a
        // joiner whose snapshot was made at `base` (before the first two changes) is registered.
        gated.arm()
        let pumping = Task { await hub.pump(event) }
        for await _ in gated.enteredSignals { break }
        let late = CollectingSink()
        await hub.register(eventID: event, subscriberID: await hub.newSubscriberID(), outbox: late, cursor: base)
        gated.letGo()
        await pumping.value
        #expect(late.seqs == [base + 1, base + 2, base + 3], "no gap after the late joiner's snapshot")
        #expect(early.seqs == [base + 1, base + 2, base + 3])
    }
}
