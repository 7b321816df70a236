import AsyncHTTPClient
import Foundation
import PulseReference
import PulseSim
import PulseWire
import Synchronization

/// Wire mode: a scenario's users and subscribers run against a live server in real time, over
/// HTTP and the live WebSocket; the history they record is checked with the same checker as a
/// deterministic run. The fault schedule is not injected (the target's own faults are what they
/// are); think times and TTLs run on the real clock.
public struct WireRunner: Sendable {
    /// What a wire run can and cannot establish, printed with every report.
    public static let guarantees = """
        Wire mode checks what clients observed: no double booking, capacity and idempotent checkout
        (from the final reads), durable acknowledgements, broadcast order as each subscriber saw it,
        exclusive holds and honoured expiries from the times clients saw answers (network latency
        widens every window). It cannot establish what no client observed (interleavings inside the
        server), cannot inject the scenario's faults (run them on the target's infrastructure), and a
        clean run is one sample, not a proof: the deterministic mode explores interleavings, wire
        mode witnesses one.
        """

    public var session: TargetSession
    public var http: HTTPClient

    public init(session: TargetSession, http: HTTPClient = .shared) {
        self.session = session
        self.http = http
    }

    /// What a wire run produced.
    public struct Outcome: Sendable {
        public var history: [HistoryRecord]
        public var violations: [Violation]
        public var wallSeconds: Double
    }

    /// Runs `configuration`'s users and subscribers against the target.
    public func run(_ configuration: SimConfiguration) async throws -> Outcome {
        let started = ContinuousClock.now
        let context = CaseContext(session: session, caseID: "wire", http: http)
        let recorder = WireRecorder()
        let event = try await context.event(rows: configuration.rows, cols: configuration.cols, price: 10)
        var users: [TestUser] = []
        for index in 0..<configuration.users { users.append(try await context.user(session.testControl ? 0 : index)) }
        let names = Dictionary(users.enumerated().map { ($1.id, "u\($0)") }, uniquingKeysWith: { first, _ in first })
        recorder.record("harness", .observe, "config", [
            "seats_per_event": .object([event: .int(Int64(configuration.rows * configuration.cols))]),
            "held_seats_max": .int(Int64(session.heldSeatsMax ?? 10)),
            // PB-HOLD-8's second, and network latency on both sides.
            "expiry_grace_ns": .int(2_000_000_000),
        ])
        let world = WireWorld(configuration: configuration, context: context, recorder: recorder, event: event, names: names)
        let subscribers = (0..<configuration.subscribers).map { world.subscribe("s\($0)", token: users[0].token) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, user) in users.enumerated() { group.addTask { try await world.user(index: index, user) } }
            try await group.waitForAll()
        }
        // Quiesce: every hold expires (the server's TTL, or the scenario's under test control) and is announced.
        let ttl = session.testControl ? configuration.holdTTLSeconds : (session.holdTTLSeconds ?? configuration.holdTTLSeconds)
        try await Task.sleep(for: .seconds(ttl + 2))
        // The final view of each subscriber: a fresh snapshot on its connection, as a client that reloads would show.
        for (_, connection) in subscribers {
            let before = connection.messages.filter { $0.type == "snapshot" }.count
            connection.send(["type": "join_event", "eventId": event])
            _ = try? await connection.waitUntil(seconds: 5, "a final snapshot") { $0.filter { $0.type == "snapshot" }.count > before }
        }
        for (name, connection) in subscribers { world.recordStream(name, connection) }
        for (_, connection) in subscribers { connection.close() }
        try await world.finalReads(users: users)
        let history = recorder.all
        return Outcome(history: history, violations: HistoryChecker.check(history), wallSeconds: (ContinuousClock.now - started).seconds)
    }
}
