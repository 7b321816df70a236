import Foundation
import PulseWire

/// What the slow-consumer case (PB-LIVE-10) may conclude from the stream of a subscriber that read
/// nothing while the server produced many messages, then read everything.
///
/// The bytes between a server's queue and a reader that stops are the kernel's: the server's send
/// buffer and the reader's receive buffer, whose sizes differ from machine to machine (Linux grows
/// a send buffer up to `net.ipv4.tcp_wmem`'s maximum, 4 MiB by default, and a program may ask for
/// twice `net.core.wmem_max`). So the verdict depends on those sizes only through a bound:
/// - a seq missing from the stream is a skipped message: FAILED, whatever the buffers;
/// - 1001 (going away: a heartbeat the stalled reader never answered) before the queue could
///   have passed its bound: INCONCLUSIVE (past it: FAILED);
/// - any other close than 1008 `slow_consumer`, or the stream ended without a close frame: FAILED;
/// - 1008 `slow_consumer` with nothing skipped before it: OK;
/// - every message delivered and no close: FAILED only when more than the queue's 4096 messages
///   (and a margin for a server's own byte buffers) came after the first `bufferBoundBytes` of the
///   stream, which is more than any buffer between could have held; otherwise INCONCLUSIVE.
public enum SlowConsumerVerdict: Equatable, Sendable {
    case closed
    case failed(String)
    case inconclusive(String)

    /// Messages a server may queue for one connection before it must close it (PB-LIVE-10).
    public static let queuedMax = 4096
    /// Messages a server may hold beyond its queue in byte buffers of its own (a socket library's
    /// write buffer, an event loop's pending writes) without being at fault.
    public static let bufferedMessagesMargin = 1024

    /// The change messages, which carry an event's seqs one by one (PB-LIVE-5).
    static let changeTypes: Set<String> = ["seat_locked", "seat_released", "seats_booked", "seats_released", "event_deleted"]

    /// Judges `drained`, in which the server should have sent changes up to `lastSeq`, given that
    /// the kernel buffers between could hold at most `bufferBoundBytes`.
    public static func judge(_ drained: StalledWebSocket.Drained, lastSeq: Int, bufferBoundBytes: Int) -> SlowConsumerVerdict {
        let heard = "\(drained.textFrames) messages (\(drained.bytes) bytes)"
        if let gap = firstGap(in: drained.frames) {
            let after = drained.closeCode.map { "and then closed it with \($0) \(drained.closeReason ?? "")" } ?? "and never closed it"
            return .failed(
                "the server skipped seq \(gap.lowerBound)...\(gap.upperBound) of a subscriber that read too slowly \(after) (read \(heard))")
        }
        // How many messages came after the first bufferBoundBytes of the stream: more than the
        // queue's bound and the margin, and the server kept more than PB-LIVE-10 lets it.
        var bytes = 0
        let beyondBuffers = drained.frames.drop { frame in
            bytes += frame.bytes
            return bytes <= bufferBoundBytes
        }.count
        if let code = drained.closeCode {
            // 1001 (going away) before the queue could have reached its bound: the server dropped
            // a peer that answered no ping (a heartbeat), which says nothing of its queue.
            if code == 1001, drained.closeReason != "slow_consumer", beyondBuffers <= queuedMax + bufferedMessagesMargin {
                return .inconclusive(
                    "the stalled subscriber was closed with 1001 \"\(drained.closeReason ?? "")\" (a heartbeat: it answered no ping) after \(heard), "
                        + "before its queue could have passed \(queuedMax) (at most \(beyondBuffers) messages beyond the \(bufferBoundBytes) bytes the buffers between hold)"
                )
            }
            guard code == 1008, drained.closeReason == "slow_consumer" else {
                return .failed(
                    "the stalled subscriber was closed with \(code) \"\(drained.closeReason ?? "")\", not 1008 slow_consumer, after \(heard)")
            }
            return .closed
        }
        let lastHeard = drained.frames.compactMap { frame in frame.type.flatMap { changeTypes.contains($0) ? frame.seq : nil } }.max() ?? 0
        if drained.endOfStream {
            return .failed("the connection ended without a close frame (1008 slow_consumer) after \(heard), the last seq \(lastHeard) of \(lastSeq)")
        }
        if lastHeard < lastSeq {
            return .inconclusive("the stream went quiet after \(heard), at seq \(lastHeard) of \(lastSeq), neither closed nor delivered")
        }
        // Every message arrived: too many of them beyond the buffers is a queue past its bound.
        if beyondBuffers > queuedMax + bufferedMessagesMargin {
            return .failed(
                "the server kept \(beyondBuffers) messages queued for a subscriber that read none (more than the \(queuedMax) of PB-LIVE-10 "
                    + "and a margin of \(bufferedMessagesMargin); the kernel buffers between hold at most \(bufferBoundBytes) bytes) and never closed it"
            )
        }
        return .inconclusive(
            "every message arrived (\(heard)) and at most \(beyondBuffers) of them could not have been in the kernel buffers "
                + "between (\(bufferBoundBytes) bytes at most): too few to show whether the server closes at \(queuedMax) queued")
    }

    /// The first seqs missing between consecutive messages: a snapshot (or `joined`) moves the
    /// stream to its seq; each change must be the next seq, or one a snapshot already covered.
    public static func firstGap(in frames: [StalledWebSocket.Drained.Frame]) -> ClosedRange<Int>? {
        var latest: Int?
        for frame in frames {
            guard let type = frame.type, let seq = frame.seq else { continue }
            if type == "snapshot" || type == "joined" {
                latest = max(latest ?? seq, seq)
            } else if changeTypes.contains(type) {
                if let known = latest, seq > known + 1 { return (known + 1)...(seq - 1) }
                latest = max(latest ?? seq, seq)
            }
        }
        return nil
    }
}

/// The most bytes the kernel buffers between a stalled reader and the server can hold.
public enum SocketBufferBound {
    /// Assumed of a server on another machine, whose settings cannot be read from here: sixteen
    /// times Linux's default send-buffer maximum.
    public static let remoteSendBufferBytes = 64 << 20

    /// The reader's receive buffer plus the server's largest send buffer: for a server on this
    /// machine (a loopback host), the larger of `tcp_wmem`'s maximum and twice `wmem_max` as this
    /// machine's kernel sets them; for another, ``remoteSendBufferBytes``.
    public static func bytes(host: String, receiveBufferBytes: Int) -> (bytes: Int, source: String) {
        let loopback = host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
        guard loopback, let wmem = readNumbers("/proc/sys/net/ipv4/tcp_wmem").last, let wmemMax = readNumbers("/proc/sys/net/core/wmem_max").first
        else {
            return (receiveBufferBytes + remoteSendBufferBytes, "a send buffer of at most \(remoteSendBufferBytes >> 20) MiB assumed")
        }
        let send = max(wmem, 2 * wmemMax)
        return (receiveBufferBytes + send, "tcp_wmem max \(wmem), wmem_max \(wmemMax), receive buffer \(receiveBufferBytes)")
    }

    private static func readNumbers(_ path: String) -> [Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
    }
}
