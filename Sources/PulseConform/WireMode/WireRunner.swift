import AsyncHTTPClient
import Foundation
import PulseHistory
import PulseProtocol
import PulseScenario
import PulseWire
import Synchronization

/// Wire mode: a scenario's users and subscribers run against a live server in real time, over
/// HTTP and the live WebSocket (Pulse profile) or Socket.IO (a seed-style server); the history
/// they record is checked with the same checker as a deterministic run. The fault schedule is not
/// injected (the target's own faults are what they are); think times and TTLs run on the real clock.
public struct WireRunner: Sendable {
    /// What a wire run can and cannot establish, printed with every report.
    public static let guarantees = """
        Wire mode checks what clients observed: no double booking, capacity and idempotent checkout
        (from the final reads), durable acknowledgements, broadcast order as each subscriber saw it,
        exclusive holds and honoured expiries from the times clients saw answers (network latency
        widens every window), and each seat's linearizability (every answer and read explained by
        one order; an expiry's instant known within the clock skew measured from the holds). It
        cannot establish what no client observed (interleavings inside the server), cannot inject
        the scenario's faults into a target it did not start (real-fault mode, `--deploy FILE`,
        carries them out on a deployment it starts), and a clean run is one
        sample, not a proof: the deterministic mode explores interleavings, wire mode witnesses
        one. Over Socket.IO (a seed-style server) messages carry no seq, so order and gaps cannot
        be verified (that is reported once per subscriber), and a lock's expiry is the target's TTL
        counted from the request, as the seed never says it.
        """

    public var session: TargetSession
    public var http: HTTPClient

    /// The scenario settings wire mode cannot honour against a live target: its faults (the
    /// target's own infrastructure decides those) and a per-user cap other than the target's (the
    /// checker holds the target to its own cap). Everything else is honoured: users, arrivals'
    /// order, think times, seats and hot spots, hold TTL (under test control), extensions,
    /// checkouts with retries of unknown outcomes, retries with the same key (after the answer or
    /// racing it), releases by hold and by seats, browsing, abandoning, subscribers.
    public static func unhonoured(_ configuration: SimConfiguration, targetCap: Int?) -> [String] {
        var ignored: [String] = []
        func note(_ active: Bool, _ what: String) { if active { ignored.append(what) } }
        note(configuration.pauseProbability > 0, "process pauses (faults.pause)")
        note(configuration.subscriberDropProbability > 0, "subscriber disconnects (faults.subscriber_drop)")
        note(configuration.durableFailureProbability > 0, "durable-store failures (faults.durable_failure)")
        note(configuration.clientCrashProbability > 0, "client crashes (faults.client_crash)")
        note(!configuration.hotStateLossAtMs.isEmpty, "hot-state losses (faults.hot_state_loss_at_ms)")
        note(
            configuration.requestDelayProbability > 0 || configuration.requestDropProbability > 0 || configuration.responseDropProbability > 0
                || configuration.requestDuplicateProbability > 0, "request faults (network.*)")
        note(configuration.messageDelayProbability > 0 || configuration.messageDropProbability > 0, "live-message faults (messages.*)")
        note(!configuration.failoverAtMs.isEmpty, "failovers")
        note(!configuration.clockJumps.isEmpty, "clock jumps")
        note(!configuration.serverCrashAtMs.isEmpty, "server crashes")
        if let targetCap, targetCap != configuration.heldSeatsPerUserMax {
            ignored.append("the per-user cap \(configuration.heldSeatsPerUserMax) (the target enforces \(targetCap), and is checked against it)")
        }
        return ignored
    }

    public init(session: TargetSession, http: HTTPClient = .shared) {
        self.session = session
        self.http = http
    }

    /// What a wire run produced.
    public struct Outcome: Sendable {
        public var history: [HistoryRecord]
        public var violations: [Violation]
        /// Each seat's linearizability, with the clock skew the run measured.
        public var linearizability: LinearizabilityReport
        /// How far the target's clock may be from this client's, as measured from the holds.
        public var clockSkewNs: Int64
        public var wallSeconds: Double
    }

    /// Runs `configuration`'s users and subscribers against the target, speaking `profile`:
    /// spread over `instances` when given (else all on the session's), with `nemesis` acting on
    /// the target's infrastructure meanwhile (the users' phase lasts until it is done too).
    /// Throws when the run cannot be set up (no event, no users); what the users meet is recorded.
    public func run(_ configuration: SimConfiguration, profile: Profile = .pulse, instances: [WireInstance] = [], nemesis: WireNemesis? = nil)
        async throws -> Outcome
    {
        let started = ContinuousClock.now
        let context = CaseContext(session: session, caseID: "wire", http: http)
        let spread = instances.isEmpty ? [WireInstance(name: "target", baseURL: session.baseURL)] : instances
        let routing = WireRouting(
            contexts: spread.map { instance in
                var own = session
                own.baseURL = instance.baseURL
                return instance.baseURL == session.baseURL ? context : CaseContext(session: own, caseID: "wire", http: http)
            }, names: spread.map(\.name))
        let recorder = WireRecorder()
        let event = try await context.event(rows: configuration.rows, cols: configuration.cols, price: Double(WireWorld.seatPrice))
        let users = try await signUp(configuration.users, context)
        let names = Dictionary(users.enumerated().map { ($1.id, "u\($0)") }, uniquingKeysWith: { first, _ in first })
        // Under test control the scenario's TTL is asked for; otherwise the target's own (the seed's is 600 s).
        let ttl =
            session.testControl
            ? configuration.holdTTLSeconds : (session.holdTTLSeconds ?? (profile == .socketio ? 600 : configuration.holdTTLSeconds))
        let configuredNs = WireRecorder.nowNs()
        let seatIDs = try await context.seatIDs(event)
        let world = WireWorld(
            configuration: configuration, context: context, routing: routing, recorder: recorder, event: event, names: names, holdTTLSeconds: ttl,
            seatIDs: seatIDs, seatLabels: Dictionary(seatIDs.map { ($1, $0) }, uniquingKeysWith: { first, _ in first }))
        // The grace for announcements (PB-HOLD-8's second, and latency on both sides) follows the
        // pace this run measured, so a slow machine is not read as a late server.
        let pace: WirePace
        switch profile {
        case .pulse: pace = try await runPulse(world, users: users, ttl: ttl, recorder: recorder, nemesis: nemesis)
        case .socketio:
            try await runSocketIO(world, users: users, recorder: recorder, nemesis: nemesis)
            pace = WirePace(recorder.all)
        }
        // Over Socket.IO the seed never says when a lock expires: the history's expiry is the
        // request's time plus the TTL, early by up to the request's own latency.
        let skewNs = pace.clockSkewNs(ttlSeconds: ttl) + (profile == .socketio ? pace.slowestAnswerNs : 0)
        recorder.record(
            at: configuredNs, "harness", .observe, "config",
            [
                "seats_per_event": .object([event: .int(Int64(configuration.rows * configuration.cols))]),
                // The protocol's cap (PB-HOLD), which a seed-style server does not keep (hoarding).
                "held_seats_max": .int(Int64(session.heldSeatsMax ?? 10)),
                "expiry_grace_ns": .int(pace.announcementGraceNs),
                // How far the server's clock may be from this client's, measured from the holds.
                "clock_skew_ns": .int(skewNs),
            ])
        try await world.finalReads(users: users)
        let history = recorder.all
        let index = HistoryIndex(history)
        return Outcome(
            history: history, violations: HistoryChecker.check(index), linearizability: Linearizability.check(index), clockSkewNs: skewNs,
            wallSeconds: (ContinuousClock.now - started).seconds)
    }

    /// The scenario's users: fresh accounts (under test control each in its own rate-limit
    /// bucket); without test control the session's pool first, so its sign-ups are not spent
    /// twice. A target that refuses a sign-up (a rate limit) stops the run with its answer.
    private func signUp(_ count: Int, _ context: CaseContext) async throws -> [TestUser] {
        var users = session.testControl ? [] : Array(session.userPool.prefix(count))
        for index in users.count..<count {
            do {
                users.append(
                    session.testControl ? try await context.user() : try await context.signUp(email: "wire-\(session.runID)-\(index)@conform.invalid")
                )
            } catch {
                throw APIError(
                    "user \(index + 1) of \(count): \(error); a target that rate-limits sign-ups needs the test-control profile (SPEC.md §14) or fewer users"
                )
            }
        }
        return users
    }

    /// Pulse profile: users over REST, subscribers on the live WebSocket; at the end every hold
    /// expires and is announced, and each subscriber asks for a fresh snapshot.
    /// Returns the pace it measured once the users were done.
    private func runPulse(_ world: WireWorld, users: [TestUser], ttl: Int, recorder: WireRecorder, nemesis: WireNemesis?) async throws
        -> WirePace
    {
        let subscribers = (0..<world.configuration.subscribers).map { WireSubscriber("s\($0)", token: users[0].token, world: world) }
        let rejoining = Task {
            await withTaskGroup(of: Void.self) { group in for subscriber in subscribers { group.addTask { await subscriber.keepJoined() } } }
        }
        defer { rejoining.cancel() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, user) in users.enumerated() { group.addTask { try await world.user(index: index, user) } }
            if let nemesis {
                group.addTask { await nemesis { f, startNs, value in recorder.record(at: startNs, "nemesis", .fault, f, value) } }
            }
            try await group.waitForAll()
        }
        // Quiesce: every hold expires (the server's TTL, or the scenario's under test control) and
        // is announced within the grace; the final snapshots are asked for after every deadline,
        // so that an expiry never announced is seen as such.
        let pace = WirePace(recorder.all)
        try await Task.sleep(for: .seconds(ttl) + .nanoseconds(pace.announcementGraceNs) + .seconds(1))
        // The final view of each subscriber: a fresh snapshot on its connection, as a client that reloads would show.
        rejoining.cancel()
        for subscriber in subscribers { await subscriber.finalSnapshot() }
        for subscriber in subscribers { subscriber.record() }
        for subscriber in subscribers { subscriber.close() }
        return pace
    }

    /// Socket.IO profile: users on their own sockets, subscribers that read the seat map and then
    /// listen; at the end every user leaves (the server releases their locks) and each subscriber
    /// reloads the seat map.
    private func runSocketIO(_ world: WireWorld, users: [TestUser], recorder: WireRecorder, nemesis: WireNemesis?) async throws {
        var subscribers: [(String, SocketIOConnection)] = []
        for index in 0..<world.configuration.subscribers { subscribers.append(try await world.socketSubscriber("s\(index)", token: users[0].token)) }
        defer { for (_, socket) in subscribers { socket.close() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, user) in users.enumerated() { group.addTask { try await world.socketUser(index: index, user) } }
            if let nemesis {
                group.addTask { await nemesis { f, startNs, value in recorder.record(at: startNs, "nemesis", .fault, f, value) } }
            }
            try await group.waitForAll()
        }
        try await Task.sleep(for: .seconds(2))  // the releases of the users' leaving reach the room
        for (name, socket) in subscribers { world.recordStream(name, socket) }
        for (name, _) in subscribers { try await world.readSeatMap(name) }
    }
}
