import Foundation
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import PulseLive
import PulseProtocol
import Testing

@testable import PulseReference

@Suite("Live WebSocket protocol", .timeLimit(.minutes(10)))
struct LiveProtocolTests {
    @Test("two subscribers see the same gap-free seq order of locks, releases, an expiry and a booking")
    func twoSubscribersSameOrder() async throws {
        let server = try await TestServer.make(holdTTLSeconds: 30)
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            let (bob, _) = try await client.signup("Bob")
            let watchers = [ScriptedLiveClient(), ScriptedLiveClient()]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (watcher, token) in zip(watchers, [ada, bob]) {
                    group.addTask { try await runLiveClient(port: port, token: token, transcript: watcher.transcript, script: watcher.script) }
                    watcher.send(.joinEvent(eventId: event, sinceSeq: nil))
                }
                for watcher in watchers {
                    try await watcher.transcript.wait { $0.contains { if case .snapshot = $0 { true } else { false } } }
                }
                let first = try await client.hold(event, ["A1", "A2"], token: ada).object("hold")["id"] as! String
                _ = try await client.hold(event, ["B1"], token: bob)
                _ = try await client.call(.delete, "/api/v1/events/\(event)/holds/\(first)", token: ada)
                _ = try await client.hold(event, ["C1"], token: ada)
                server.clock.advance(byMs: 30_000)  // Bob's B1 and Ada's C1 lapse; the sweeper expires them.
                let third = try await client.hold(event, ["A3"], token: ada).object("hold")["id"] as! String
                #expect(
                    try await client.call(.post, "/api/v1/events/\(event)/seats", token: ada, json: ["seatIds": ["A3"], "holdId": third]).status
                        == .created)
                // 2 locks + 1 lock + 2 releases + 1 lock + 2 expiries + 1 lock + 1 booking
                for watcher in watchers { try await watcher.transcript.wait { _ in watcher.transcript.changes.count >= 10 } }
                watchers.forEach { $0.finish() }
                try await group.waitForAll()
            }
            let orders = watchers.map { $0.transcript.changes }
            #expect(orders[0] == orders[1], "every subscriber sees one order")
            let snapshotSeq = watchers[0].transcript.all.compactMap { if case .snapshot(_, let seq, _) = $0 { seq } else { nil } }.first!
            #expect(orders[0].map(\.seq) == Array(snapshotSeq + 1...snapshotSeq + 10), "contiguous seqs right after the snapshot")
            let expired = orders[0].filter { if case .seatReleased(_, _, .expired, _) = $0 { true } else { false } }
            #expect(expired.count == 2)
            guard case .seatsBooked(_, ["A3"], _) = orders[0].last else { throw TestFailure("last change is not the booking: \(orders[0])") }
        }
    }

    @Test("request_lock replies lock_acquired to the caller and broadcasts seat_locked; lock_failed on conflict; disconnect releases")
    func lockOverSocket() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, adaID) = try await client.signup("Ada")
            let (bob, _) = try await client.signup("Bob")
            let adaSocket = ScriptedLiveClient()
            let bobSocket = ScriptedLiveClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runLiveClient(port: port, token: ada, transcript: adaSocket.transcript, script: adaSocket.script) }
                group.addTask { try await runLiveClient(port: port, token: bob, transcript: bobSocket.transcript, script: bobSocket.script) }
                bobSocket.send(.joinEvent(eventId: event, sinceSeq: nil))
                try await bobSocket.transcript.wait { $0.count == 1 }
                adaSocket.send(.requestLock(eventId: event, seatId: "A1"))
                try await adaSocket.transcript.wait { $0.contains { if case .lockAcquired(_, "A1", _) = $0 { true } else { false } } }
                try await bobSocket.transcript.wait { _ in bobSocket.transcript.changes.count == 1 }
                guard case .seatLocked(_, "A1", adaID, _) = bobSocket.transcript.changes[0] else { throw TestFailure("no seat_locked") }
                bobSocket.send(.requestLock(eventId: event, seatId: "A1"))
                try await bobSocket.transcript.wait { $0.contains { if case .lockFailed(_, "A1", .seatUnavailable, _) = $0 { true } else { false } } }
                adaSocket.finish()  // Ada's connection closes: her socket-acquired hold is released.
                try await bobSocket.transcript.wait { _ in bobSocket.transcript.changes.count == 2 }
                guard case .seatReleased(_, "A1", .disconnected, _) = bobSocket.transcript.changes[1] else {
                    throw TestFailure("no disconnect release")
                }
                bobSocket.finish()
                try await group.waitForAll()
            }
            let seat = try await client.call(.get, "/api/v1/events/\(event)/seats").data["seats"] as! [[String: Any]]
            #expect(seat[0]["status"] as? String == "available")
        }
    }

    @Test("malformed messages get an error reply and the connection lives on")
    func malformedMessages() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            let socket = ScriptedLiveClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runLiveClient(port: port, token: ada, transcript: socket.transcript, script: socket.script) }
                for raw in [
                    "not json", "[1,2]", #"{"type":"dance","eventId":"x"}"#, #"{"type":"join_event"}"#, #"{"type":"request_lock","eventId":5}"#,
                    #"{"type":"join_event","eventId":"nope"}"#, #"{"type":"leave_event","eventId":"\#(event)"}"#,
                ] {
                    socket.sendRaw(raw)
                }
                socket.send(.joinEvent(eventId: event, sinceSeq: nil))
                try await socket.transcript.wait { $0.count == 8 }
                socket.finish()
                try await group.waitForAll()
            }
            let codes = socket.transcript.all.prefix(7).map { message -> ErrorCode? in if case .error(let code, _) = message { code } else { nil } }
            #expect(codes == [.malformedJSON, .malformedJSON, .unknownMessageType, .validationFailed, .validationFailed, .invalidID, .notJoined])
            guard case .snapshot = socket.transcript.all[7] else { throw TestFailure("the connection did not survive") }
        }
    }

    @Test("deleting an event sends its subscribers one event_deleted at the next seq and nothing after; joining it then is event_not_found")
    func deletionBroadcast() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let admin = try await client.adminToken()
            let event = try await client.createEvent(admin: admin)
            let other = try await client.createEvent(admin: admin)
            let (ada, adaID) = try await client.signup("Ada")
            let watcher = ScriptedLiveClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runLiveClient(port: port, token: ada, transcript: watcher.transcript, script: watcher.script) }
                defer { watcher.finish() }
                watcher.send(.joinEvent(eventId: event, sinceSeq: nil))
                watcher.send(.joinEvent(eventId: other, sinceSeq: nil))
                try await watcher.transcript.wait { $0.count == 2 }
                #expect(try await client.hold(event, ["A1", "A2"], token: ada).status == .created)
                #expect(try await client.call(.delete, "/api/v1/events/\(event)", token: admin).status == .noContent)
                try await watcher.transcript.wait { $0.contains { if case .change(.eventDeleted) = $0 { true } else { false } } }
                // After the deletion: a change of the other event, then a join of the deleted one.
                #expect(try await client.hold(other, ["A1"], token: ada).status == .created)
                watcher.send(.joinEvent(eventId: event, sinceSeq: nil))
                try await watcher.transcript.wait { $0.contains { if case .error = $0 { true } else { false } } }
                let ofEvent = watcher.transcript.changes.filter { $0.eventId == event }
                let base = ofEvent.first.map { $0.seq - 1 } ?? 0
                #expect(
                    ofEvent == [
                        .seatLocked(eventId: event, seatId: "A1", lockedBy: adaID, seq: base + 1),
                        .seatLocked(eventId: event, seatId: "A2", lockedBy: adaID, seq: base + 2),
                        .eventDeleted(eventId: event, seq: base + 3),
                    ], "\(watcher.transcript.all)")
                #expect(watcher.transcript.all.contains { if case .error(.eventNotFound, _) = $0 { true } else { false } })
                #expect(watcher.transcript.changes.contains { $0.eventId == other }, "the other event's subscription goes on")
            }
        }
    }

    @Test("10,000 malformed frames from four connections: each gets its error, while a subscriber keeps every change in order")
    func malformedFlood() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            let (mallory, _) = try await client.signup("Mallory")
            let junk = [
                "not json", "[1,2]", "{", #"{"type":"dance"}"#, #"{"type":"join_event"}"#, #"{"type":"request_lock","eventId":5}"#,
                #"{"type":"join_event","eventId":"nope"}"#, #"{"type":"leave_event","eventId":"\#(event)"}"#,
                "{\"type\":\"request_lock\",\"eventId\":\"\(event)\",\"seatId\":\"" + String(repeating: "Z", count: 2_000) + "\"}",
            ]
            let watcher = ScriptedLiveClient()
            let attackers = (0..<4).map { _ in ScriptedLiveClient() }
            let perAttacker = 2_500
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runLiveClient(port: port, token: ada, transcript: watcher.transcript, script: watcher.script) }
                for attacker in attackers {
                    group.addTask { try await runLiveClient(port: port, token: mallory, transcript: attacker.transcript, script: attacker.script) }
                }
                // Every client disconnects whatever happens, so a failure fails rather than hangs.
                defer {
                    watcher.finish()
                    for attacker in attackers { attacker.finish() }
                }
                watcher.send(.joinEvent(eventId: event, sinceSeq: nil))
                try await watcher.transcript.wait { $0.count == 1 }
                for attacker in attackers {
                    for index in 0..<perAttacker { attacker.sendRaw(junk[index % junk.count]) }
                    // A marker: answered after every junk frame before it, so the counts below can be read at once.
                    attacker.send(.joinEvent(eventId: event, sinceSeq: nil))
                }
                for seat in ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4"] {
                    let hold = try #require(try await client.hold(event, [seat], token: ada).object("hold")["id"] as? String)
                    #expect(try await client.call(.delete, "/api/v1/events/\(event)/holds/\(hold)", token: ada).status == .noContent)
                }
                try await watcher.transcript.wait(seconds: 60) { $0.count == 1 + 16 }
                for attacker in attackers {
                    try await attacker.transcript.wait(seconds: 30) { $0.contains { if case .snapshot = $0 { true } else { false } } }
                }
            }
            let seqs = watcher.transcript.changes.map(\.seq)
            #expect(seqs.count == 16 && zip(seqs, seqs.dropFirst()).allSatisfy { $1 == $0 + 1 }, "the subscriber's seqs: \(seqs)")
            for attacker in attackers {
                let replies = attacker.transcript.all.prefix { if case .snapshot = $0 { false } else { true } }
                let others = replies.filter {
                    switch $0 {
                    case .error: false
                    case .lockFailed(_, _, let code, _): code != .validationFailed && code != .seatNotFound
                    default: true
                    }
                }
                #expect(
                    replies.count == perAttacker && others.isEmpty,
                    "every junk frame got its refusal and nothing else: \(replies.count), \(others.prefix(3))")
            }
            #expect(try await client.call(.get, "/healthz").status == .ok)
        }
    }

    @Test("re-joining with a recent sinceSeq replays exactly the missed changes, then joined")
    func resyncWithSinceSeq() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let event = try await client.createEvent(admin: try await client.adminToken())
            let (ada, _) = try await client.signup("Ada")
            let seq = try await client.call(.get, "/api/v1/events/\(event)/seats").data["seq"] as! Int
            _ = try await client.hold(event, ["A1"], token: ada)
            _ = try await client.hold(event, ["A2"], token: ada)
            let socket = ScriptedLiveClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runLiveClient(port: port, token: ada, transcript: socket.transcript, script: socket.script) }
                socket.send(.joinEvent(eventId: event, sinceSeq: Int64(seq)))
                try await socket.transcript.wait { $0.count == 3 }
                socket.send(.joinEvent(eventId: event, sinceSeq: 3))  // a seq of another generation: snapshot instead
                try await socket.transcript.wait { $0.count == 4 }
                socket.finish()
                try await group.waitForAll()
            }
            let messages = socket.transcript.all
            guard case .change(.seatLocked(_, "A1", _, let s1)) = messages[0], case .change(.seatLocked(_, "A2", _, let s2)) = messages[1],
                case .joined(_, let joinedSeq) = messages[2], case .snapshot(_, let snapSeq, let seats) = messages[3]
            else {
                throw TestFailure("unexpected transcript \(messages)")
            }
            #expect([s1, s2, joinedSeq] == [Int64(seq) + 1, Int64(seq) + 2, Int64(seq) + 2])
            #expect(snapSeq == joinedSeq)
            #expect(seats.filter { $0.status == .locked }.map(\.id) == ["A1", "A2"])
        }
    }

    @Test("the live endpoint refuses a missing or bad token with 401, and a plain GET with 426")
    func liveAuth() async throws {
        let app = try await TestServer.make().application()
        try await app.test(.live) { client in
            #expect(try await client.call(.get, "/api/v1/live").status == .unauthorized)
            #expect(try await client.call(.get, "/api/v1/live?token=bad").code == "invalid_token")
            let (ada, _) = try await client.signup("Ada")
            let plain = try await client.call(.get, "/api/v1/live", token: ada)
            #expect(plain.status == .upgradeRequired)
            #expect(plain.code == "upgrade_required")
        }
    }

    @Test("a frame above 16 KiB closes the connection with 1009; a connection follows at most 16 events")
    func liveLimits() async throws {
        let server = try await TestServer.make()
        try await server.application().test(.live) { client in
            let port = try #require(client.port)
            let admin = try await client.adminToken()
            let (ada, _) = try await client.signup("Ada")
            var logger = Logger(label: "live-limits")
            logger.logLevel = .warning
            let oversized = #"{"type":"join_event","eventId":""# + String(repeating: "a", count: PulseServer.webSocketFrameBytesMax) + #""}"#
            let closeFrame = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/api/v1/live?token=\(ada)", logger: logger) {
                inbound, outbound, _ in
                try await outbound.write(.text(oversized))
                for try await _ in inbound.messages(maxSize: 1 << 20) {}
            }
            #expect(closeFrame?.closeCode == .messageTooLarge)

            var events: [String] = []
            for _ in 0...LiveSession.subscriptionsMax { events.append(try await client.createEvent(admin: admin, rows: 1, cols: 1)) }
            let socket = ScriptedLiveClient()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await runLiveClient(port: port, token: ada, transcript: socket.transcript, script: socket.script) }
                for event in events { socket.send(.joinEvent(eventId: event, sinceSeq: nil)) }
                try await socket.transcript.wait { $0.count == events.count }
                socket.finish()
                try await group.waitForAll()
            }
            let messages = socket.transcript.all
            #expect(messages.prefix(LiveSession.subscriptionsMax).allSatisfy { if case .snapshot = $0 { true } else { false } })
            guard case .error(let code, _) = messages.last else { throw TestFailure("the 17th join was not refused: \(messages.last as Any)") }
            #expect(code == .tooManySubscriptions)
        }
    }
}
