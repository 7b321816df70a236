import Foundation
import HummingbirdWSClient
import Logging
import PulseReference
import PulseWire

/// Measures live fan-out (PB-LIVE-5): how long one seat change takes to reach every subscriber
/// of an event over real WebSocket connections.
///
/// It opens `subscribers` connections that join one event, then triggers `changes` seat changes
/// one at a time through the REST API (a hold, then its release, alternately). Each delivery's
/// latency runs from just before the triggering request is sent to the moment the subscriber's
/// connection hands the message over, so it includes the REST call, the engine, the hub, the
/// socket and the client's own reading. Every subscriber must receive every change, in seq order
/// with no gap; anything else fails the run.
public struct FanoutBenchmark: Sendable {
    /// The figures of one run.
    public struct Result: Sendable {
        public var subscribers: Int
        public var changes: Int
        /// Per delivery (subscribers × changes samples).
        public var delivery: LatencySummary
        /// Per change: until its last subscriber had it.
        public var completion: LatencySummary
        /// Wall time to connect and join every subscriber.
        public var connectSeconds: Double
    }

    let api: PulseAPIClient
    let adminEmail: String
    let adminPassword: String
    /// Connections opened at once while joining.
    public var connectBatch = 200
    /// Longest wait for one batch to join or one change to reach everyone.
    public var stepTimeoutSeconds = 60.0
    /// Pause between changes, so each is measured on its own.
    public var pauseBetweenChanges: Duration = .milliseconds(20)

    public init(api: PulseAPIClient, adminEmail: String, adminPassword: String) {
        self.api = api
        self.adminEmail = adminEmail
        self.adminPassword = adminPassword
    }

    /// Runs once with `subscribers` connections and `changes` changes. Throws ``APIError`` when a
    /// subscriber cannot join, a change does not reach everyone in time, or the order breaks.
    public func run(subscribers: Int, changes: Int) async throws -> Result {
        precondition(subscribers > 0 && changes > 0, "a fan-out run needs subscribers and changes")
        let admin = try await api.login(email: adminEmail, password: adminPassword)
        let eventID = try await api.createEvent(adminToken: admin, title: "Fan-out \(subscribers)", rows: 1, cols: 10, price: 1)
        let suffix = eventID.suffix(12)
        let watcher = try await api.signup(name: "Watcher", email: "watcher-\(suffix)@bench.invalid", password: "watcher-password")
        let actor = try await api.signup(name: "Actor", email: "actor-\(suffix)@bench.invalid", password: "actor-password")
        let recorder = FanoutRecorder(rounds: changes)
        let stop = StopSignal()
        let url = api.baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/api/v1/live?token=\(watcher.token)"
        let join = #"{"type":"join_event","eventId":"\#(eventID)"}"#

        return try await withThrowingTaskGroup(of: Void.self) { group in
            do {
                let connectStart = ContinuousClock.now
                var launched = 0
                while launched < subscribers {
                    let batch = min(connectBatch, subscribers - launched)
                    for _ in 0..<batch {
                        group.addTask { await Self.subscribe(url: url, join: join, recorder: recorder, stop: stop) }
                    }
                    launched += batch
                    try await waitUntil("\(launched) subscribers joined") { recorder.readyCount + recorder.failedCount >= launched }
                    if recorder.failedCount > 0 { throw APIError("subscribers failed to join: \(recorder.problems)") }
                }
                let connectSeconds = (ContinuousClock.now - connectStart).seconds
                var holdID: String?
                for round in 0..<changes {
                    recorder.trigger(round: round)
                    holdID = try await triggerChange(eventID: eventID, token: actor.token, releasing: holdID)
                    try await waitUntil("change \(round + 1) reached every subscriber") { recorder.deliveries(round: round) >= subscribers }
                    try await Task.sleep(for: pauseBetweenChanges)
                }
                if recorder.problemCount > 0 { throw APIError("\(recorder.problemCount) protocol problems: \(recorder.problems)") }
                stop.fire()
                try await group.waitForAll()
                let perRound = recorder.latencies
                return Result(
                    subscribers: subscribers, changes: changes, delivery: LatencySummary(nanoseconds: perRound.flatMap { $0 }),
                    completion: LatencySummary(nanoseconds: perRound.map { $0.max() ?? 0 }), connectSeconds: connectSeconds)
            } catch {
                stop.fire()
                group.cancelAll()
                throw error
            }
        }
    }

    /// Holds seat A1 (when `releasing` is nil) or releases that hold; returns the held hold's id.
    private func triggerChange(eventID: String, token: String, releasing holdID: String?) async throws -> String? {
        if let holdID {
            let reply = try await api.call(.DELETE, "/api/v1/events/\(eventID)/holds/\(holdID)", token: token)
            guard reply.status == 204 else { throw APIError("release failed: \(reply.status) \(reply.json)") }
            return nil
        }
        let reply = try await api.call(.POST, "/api/v1/events/\(eventID)/holds", token: token, json: ["seatIds": ["A1"]])
        guard reply.status == 201, let id = reply.object("hold")["id"] as? String else {
            throw APIError("hold failed: \(reply.status) \(reply.json)")
        }
        return id
    }

    private func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(stepTimeoutSeconds * 1000))
        while !condition() {
            guard ContinuousClock.now < deadline else { throw APIError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// One subscriber: joins, checks the snapshot, then records every change until `stop` fires.
    private static func subscribe(url: String, join: String, recorder: FanoutRecorder, stop: StopSignal) async {
        var logger = Logger(label: "fanout-subscriber")
        logger.logLevel = .critical
        do {
            try await WebSocketClient.connect(url: url, logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(join))
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        await stop.wait()
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    var lastSeq: Int64?
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        let receivedAt = recorder.nowNs()
                        guard case .text(let text) = message else { continue }
                        if let previous = lastSeq, let seq = LiveScan.seq(in: text) {
                            recorder.received(seq: seq, previous: previous, atNs: receivedAt)
                            lastSeq = seq
                        } else if lastSeq == nil, let snapshotSeq = LiveScan.snapshotSeq(in: text) {
                            lastSeq = snapshotSeq
                            recorder.joined(seq: snapshotSeq)
                        } else {
                            recorder.unexpected("unexpected message: \(text.prefix(200))")
                            if lastSeq == nil { recorder.failed("join was not answered with a snapshot") }
                        }
                    }
                    group.cancelAll()
                }
            }
        } catch {
            recorder.failed("subscriber connection failed: \(error)")
        }
    }
}
