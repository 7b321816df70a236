import PulseEngine
import PulseProtocol

/// One authenticated live connection: interprets its messages (PB-LIVE-3), answers on its outbox
/// and remembers the holds it acquired, which it releases on `leave_event` and when it closes.
/// A bad message gets an `error` (or `lock_failed`) reply; the connection stays open (PB-LIVE-9).
public final class LiveSession {
    /// Most events one connection may follow at once.
    public static let subscriptionsMax = 16

    let engine: BookingEngine
    let hub: LiveHub
    let user: UserRecord
    let outbox: LiveOutbox
    let subscriberID: Int
    /// Per-user limits on this user's messages and `request_lock`s (PB-LIMIT-4); nil: none.
    let messageLimit: TokenBuckets?
    let holdLimit: TokenBuckets?
    private var joined: Set<String> = []
    /// Hold ids acquired through `request_lock`, per event.
    private var acquired: [String: [String]] = [:]

    public init(
        engine: BookingEngine, hub: LiveHub, user: UserRecord, outbox: LiveOutbox,
        messageLimit: TokenBuckets? = nil, holdLimit: TokenBuckets? = nil
    ) async {
        self.engine = engine
        self.hub = hub
        self.user = user
        self.outbox = outbox
        self.messageLimit = messageLimit
        self.holdLimit = holdLimit
        self.subscriberID = await hub.newSubscriberID()
    }

    private func reply(_ message: LiveServerMessage) { outbox.send(LiveCodec.frame(message)) }

    private func replyError(_ error: any Error) {
        let pulse = PulseError.from(error)
        reply(.error(code: pulse.code, message: pulse.message))
    }

    /// Handles one text message from the client. Every frame, malformed or not, counts against the
    /// user's message limit; one beyond it is answered `rate_limited` (`lock_failed` for a
    /// `request_lock`) and does nothing else.
    public func handle(_ text: String) async {
        let decoded = LiveCodec.decode(text)
        if let retryAfter = messageLimit?.take(user.id) {
            refuse(decoded, retryAfter: retryAfter, what: "messages")
            return
        }
        switch decoded {
        case .failure(let failure):
            reply(.error(code: failure.code, message: failure.message))
        case .success(let message):
            if case .requestLock = message, let retryAfter = holdLimit?.take(user.id) {
                refuse(decoded, retryAfter: retryAfter, what: "holds")
                return
            }
            await handle(message)
        }
    }

    private func refuse(_ decoded: Result<LiveClientMessage, LiveDecodeFailure>, retryAfter: Int, what: String) {
        let message = "Too many \(what) from this account; retry in \(retryAfter) s."
        if case .success(.requestLock(let eventID, let seatID)) = decoded {
            reply(.lockFailed(eventId: eventID, seatId: seatID, code: .rateLimited, message: message))
        } else {
            reply(.error(code: .rateLimited, message: message))
        }
    }

    func handle(_ message: LiveClientMessage) async {
        switch message {
        case .joinEvent(let eventID, let sinceSeq):
            guard joined.contains(eventID) || joined.count < Self.subscriptionsMax else {
                reply(.error(code: .tooManySubscriptions, message: "At most \(Self.subscriptionsMax) events per connection."))
                return
            }
            do {
                _ = try await engine.existingEvent(eventID)
                try await hub.join(eventID: eventID, sinceSeq: sinceSeq, subscriberID: subscriberID, outbox: outbox)
                joined.insert(eventID)
            } catch {
                replyError(error)
            }
        case .leaveEvent(let eventID):
            guard joined.remove(eventID) != nil else {
                reply(.error(code: .notJoined, message: "You have not joined event \(eventID.prefix(64))."))
                return
            }
            await hub.leave(eventID: eventID, subscriberID: subscriberID)
            await releaseAcquired(eventID: eventID, reason: .released)
        case .requestLock(let eventID, let seatID):
            do {
                let hold = try await engine.hold(eventID: eventID, seatIDs: [seatID], userID: user.id)
                acquired[eventID, default: []].append(hold.id)
                reply(.lockAcquired(eventId: eventID, seatId: seatID, hold: hold.resource))
            } catch {
                let pulse = PulseError.from(error)
                reply(.lockFailed(eventId: eventID, seatId: seatID, code: pulse.code, message: pulse.message))
            }
        case .releaseLock(let eventID, let seatID):
            do {
                try BookingEngine.requireEntityID(eventID, "event")
                _ = try await engine.release(eventID: eventID, target: .seats([seatID]), userID: user.id, reason: .released)
            } catch {
                replyError(error)
            }
        }
    }

    /// Releases what this connection acquired in the event; only holds still the user's are
    /// released, and only real releases are broadcast (compare-and-delete; seed race 4).
    private func releaseAcquired(eventID: String, reason: ReleaseReason) async {
        for holdID in acquired.removeValue(forKey: eventID) ?? [] {
            _ = try? await engine.release(eventID: eventID, target: .hold(id: holdID), userID: user.id, reason: reason)
        }
    }

    /// Called once when the connection has closed: unsubscribes and releases acquired holds
    /// with reason `disconnected`.
    public func close() async {
        await hub.leaveAll(subscriberID: subscriberID)
        for eventID in acquired.keys.sorted() { await releaseAcquired(eventID: eventID, reason: .disconnected) }
        outbox.close()
    }
}
