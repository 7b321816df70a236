import Foundation
import PulseConform
import PulseWire
import Testing

/// The parts of the harness that decide a verdict from evidence, on evidence made by hand: no
/// server, no network, the same on any machine.
@Suite("Verdicts decided from evidence alone")
struct HarnessVerdictTests {
    typealias Frame = StalledWebSocket.Drained.Frame

    static func drained(_ frames: [Frame], close: (Int, String)? = nil, endOfStream: Bool = false) -> StalledWebSocket.Drained {
        var drained = StalledWebSocket.Drained()
        drained.frames = frames
        drained.bytes = frames.reduce(0) { $0 + $1.bytes }
        drained.closeCode = close?.0
        drained.closeReason = close?.1
        drained.endOfStream = endOfStream
        return drained
    }

    /// `snapshots` snapshots of `snapshotBytes` at seq 0, then changes 1...`changes` of 100 bytes.
    static func stream(snapshots: Int, snapshotBytes: Int = 50_000, changes: Int, skipping: ClosedRange<Int>? = nil) -> [Frame] {
        (0..<snapshots).map { _ in Frame(type: "snapshot", seq: 0, bytes: snapshotBytes) }
            + (1...changes).filter { !(skipping?.contains($0) ?? false) }.map { Frame(type: "seat_locked", seq: $0, bytes: 100) }
    }

    @Test("closed with 1008 slow_consumer and nothing skipped before: the clause holds")
    func closedInTime() {
        let verdict = SlowConsumerVerdict.judge(
            Self.drained(Self.stream(snapshots: 100, changes: 3_000), close: (1008, "slow_consumer")),
            lastSeq: 6_000, bufferBoundBytes: 4 << 20)
        #expect(verdict == .closed)
    }

    @Test("a seq missing from the stream is a skipped message, closed or not, whatever the buffers")
    func gapIsSkipped() {
        for close in [nil, (1008, "slow_consumer")] as [(Int, String)?] {
            let verdict = SlowConsumerVerdict.judge(
                Self.drained(Self.stream(snapshots: 2, changes: 6_000, skipping: 4_000...4_100), close: close),
                lastSeq: 6_000, bufferBoundBytes: 1 << 30)
            guard case .failed(let why) = verdict else {
                Issue.record("a gap was not a failure: \(verdict)")
                continue
            }
            #expect(why.contains("skipped seq 4000...4100"))
        }
    }

    @Test("a snapshot or joined moves the stream to its seq: what follows it is no gap")
    func snapshotCoversEarlierSeqs() {
        let frames = [
            Frame(type: "snapshot", seq: 10, bytes: 1), Frame(type: "seat_locked", seq: 11, bytes: 1),
            Frame(type: "snapshot", seq: 40, bytes: 1), Frame(type: "seat_released", seq: 41, bytes: 1),
            Frame(type: "joined", seq: 60, bytes: 1), Frame(type: "seats_booked", seq: 61, bytes: 1),
            Frame(type: "lock_acquired", seq: nil, bytes: 1), Frame(type: "seat_locked", seq: 62, bytes: 1),
        ]
        #expect(SlowConsumerVerdict.firstGap(in: frames) == nil)
        #expect(SlowConsumerVerdict.firstGap(in: frames + [Frame(type: "seat_locked", seq: 64, bytes: 1)]) == 63...63)
    }

    @Test("another close status, or a stream ended without a close frame, fails the clause")
    func wrongClose() {
        let wrong = SlowConsumerVerdict.judge(
            Self.drained(Self.stream(snapshots: 1, changes: 10), close: (1011, "overloaded")), lastSeq: 10, bufferBoundBytes: 1)
        let cut = SlowConsumerVerdict.judge(
            Self.drained(Self.stream(snapshots: 1, changes: 10), endOfStream: true), lastSeq: 6_000, bufferBoundBytes: 1)
        #expect({ if case .failed = wrong { true } else { false } }())
        #expect({ if case .failed = cut { true } else { false } }())
    }

    /// Seen on a loaded machine: the reference's WebSocket heartbeat (a ping every 30 s) dropped
    /// the stalled reader, which answers no ping, before its queue reached the bound.
    @Test("closed with 1001 (a heartbeat) before the queue could pass its bound decides nothing; past the bound it fails")
    func heartbeatClose() {
        let early = SlowConsumerVerdict.judge(
            Self.drained(Self.stream(snapshots: 47, snapshotBytes: 100_000, changes: 10), close: (1001, "Ping timeout")), lastSeq: 6_000,
            bufferBoundBytes: 8 << 20)
        guard case .inconclusive(let why) = early else {
            Issue.record("a heartbeat close before the bound was judged \(early)")
            return
        }
        #expect(why.contains("heartbeat"))
        let late = SlowConsumerVerdict.judge(
            Self.drained(Self.stream(snapshots: 1, changes: 6_000), close: (1001, "Ping timeout")), lastSeq: 6_000, bufferBoundBytes: 1)
        #expect({ if case .failed = late { true } else { false } }(), "6000 messages queued before the close: more than the bound")
    }

    /// The field's false alarm: everything arrived, no close, but the kernel buffers between (a
    /// stock Linux: 4 MiB send buffers) could have held the messages beyond the server's queue.
    @Test("everything delivered and no close: FAILED only when the buffers between could not have held what exceeded the queue")
    func allDeliveredDependsOnTheBound() {
        let frames = Self.stream(snapshots: 60, changes: 6_000)  // 3 MB of snapshots, then 600 kB of changes
        let roomy = SlowConsumerVerdict.judge(Self.drained(frames), lastSeq: 6_000, bufferBoundBytes: 4 << 20)
        guard case .inconclusive = roomy else {
            Issue.record("with 4 MiB of buffers the stream proves nothing, got \(roomy)")
            return
        }
        let tight = SlowConsumerVerdict.judge(Self.drained(frames), lastSeq: 6_000, bufferBoundBytes: 3_000_000)
        guard case .failed(let why) = tight else {
            Issue.record("6000 messages past 3 MB of buffers are queued, got \(tight)")
            return
        }
        #expect(why.contains("6000 messages queued"))
    }

    @Test("a stream that goes quiet before the last seq, open and unclosed, decides nothing")
    func quietIsInconclusive() {
        let verdict = SlowConsumerVerdict.judge(Self.drained(Self.stream(snapshots: 60, changes: 5_710)), lastSeq: 6_000, bufferBoundBytes: 4 << 20)
        guard case .inconclusive = verdict else {
            Issue.record("got \(verdict)")
            return
        }
    }

    @Test("a loopback target's buffer bound is this kernel's own maximum, with the reader's buffer")
    func loopbackBound() throws {
        let wmem = try #require(
            try String(contentsOfFile: "/proc/sys/net/ipv4/tcp_wmem", encoding: .utf8)
                .split(whereSeparator: \.isWhitespace).last.flatMap { Int($0) })
        let bound = SocketBufferBound.bytes(host: "127.0.0.1", receiveBufferBytes: 1000)
        #expect(bound.bytes >= wmem + 1000)
        #expect(SocketBufferBound.bytes(host: "booking.example", receiveBufferBytes: 1000).bytes == SocketBufferBound.remoteSendBufferBytes + 1000)
    }

    @Test("the optional routes are exactly those SPEC.md's SHOULD and MAY clause headings name")
    func optionalRoutesMatchSpec() throws {
        let spec = try String(contentsOf: PythonServer.root.appendingPathComponent("SPEC.md"), encoding: .utf8)
        var named: [OptionalRoutes.Route] = []
        for line in spec.split(separator: "\n") where line.hasPrefix("**PB-") {
            // **PB-HOLD-11** (SHOULD) `GET /api/v1/events/:id/holds` (user) lists ...
            let parts = line.split(separator: "`")
            guard parts.count >= 2, let forceStart = line.range(of: "** ("), let forceEnd = line[forceStart.upperBound...].firstIndex(of: ")") else {
                continue
            }
            let force = String(line[forceStart.upperBound..<forceEnd])
            let route = parts[1].split(separator: " ")
            guard force == "SHOULD" || force == "MAY", route.count == 2, ["GET", "POST", "PATCH", "DELETE", "PUT"].contains(String(route[0])) else {
                continue
            }
            let clause = String(line.dropFirst(2).prefix { $0 != "*" })
            named.append(.init(method: String(route[0]), template: String(route[1]), clause: clause, force: force))
        }
        #expect(named.count >= 4)
        #expect(named == OptionalRoutes.all)
    }

    @Test("the CI reports: a Markdown row per clause, failures with evidence, reasons not run; an annotation per failure, escaped")
    func ciReports() throws {
        func result(_ id: String, _ clause: String, _ grade: Grade, _ evidence: [String]) -> CaseResult {
            try! JSONDecoder().decode(
                CaseResult.self,
                from: JSONSerialization.data(withJSONObject: [
                    "id": id, "clause": clause, "requirement": grade == .nonStrict ? "SHOULD" : "MUST", "title": "t|\(id)", "grade": grade.rawValue,
                    "durationSeconds": 0.1, "evidence": evidence,
                ]))
        }
        let report = ConformanceReport(
            target: "http://t", testControl: false, admin: true,
            results: [
                result("holds.a", "PB-HOLD-2", .ok, []),
                result("holds.b", "PB-HOLD-2", .failed, ["expected 201, got 500: 100%\nbroken"]),
                result("holds.c", "PB-HOLD-11", .nonStrict, ["no list"]),
                result("live.d", "PB-LIVE-10", .inconclusive, ["the target rate-limited the suite's own pace on GET /x: it answered 429"]),
                result("live.e", "PB-LIVE-10", .inconclusive, ["the target rate-limited the suite's own pace on GET /y: it answered 429"]),
            ])
        let summary = report.markdownSummary()
        #expect(summary.hasPrefix("## Pulse conformance: FAILED"))
        #expect(summary.contains("| PB-HOLD-2 | MUST | 2 | 1 |  | **1** |"))
        #expect(summary.contains("- `holds.b` (PB-HOLD-2 MUST): t\\|holds.b") && summary.contains("  expected 201, got 500: 100%"))
        #expect(summary.contains("- INCONCLUSIVE ×1: the target rate-limited the suite's own pace on GET /x"))
        let annotations = report.githubAnnotations().split(separator: "\n")
        #expect(
            annotations == [
                "::error title=PB-HOLD-2 holds.b::t|holds.b%0Aexpected 201, got 500: 100%25%0Abroken",
                "::warning title=PB-HOLD-11 holds.c::t|holds.c%0Ano list",
            ])
    }

    @Test("a route template matches its paths, one segment per parameter, query ignored")
    func routeMatching() {
        let holds = OptionalRoutes.route(method: "GET", path: "/api/v1/events/abc/holds?x=1")
        #expect(holds?.clause == "PB-HOLD-11")
        #expect(OptionalRoutes.route(method: "POST", path: "/api/v1/events/abc/holds") == nil)
        #expect(OptionalRoutes.route(method: "GET", path: "/api/v1/events/abc/holds/def") == nil)
        #expect(OptionalRoutes.route(method: "GET", path: "/api/v1/events/abc/seats") == nil)
    }
}
