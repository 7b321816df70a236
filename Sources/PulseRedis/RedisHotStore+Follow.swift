import Logging
import PulseEngine
import ServiceLifecycle

/// Following the other instances: every server instance on one Redis runs this loop, which
/// blocks on the per-event change logs (`XREAD BLOCK` on a dedicated connection) and rings the
/// change feed for every event whose log grew, whoever appended to it. The live hub then reads
/// the new changes in seq order from the log (PB-LIVE-7 across instances).
extension RedisHotStore: Service {
    /// How long one `XREAD` blocks before the set of events is read again.
    static let followBlockMs = 250

    public func run() async throws {
        var lastIDs: [String: String] = [:]
        var connection: RedisConnection?
        let logger = Logger(label: "pulse.redis.follow")
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                do {
                    if connection?.isOpen != true { connection = try await client.dedicatedConnection() }
                    let events = try await knownEvents()
                    guard !events.isEmpty, let connection else {
                        try await Task.sleep(for: .milliseconds(Self.followBlockMs))
                        continue
                    }
                    let keys = events.map { Self.prefix($0) + "log" }
                    let ids = events.map { lastIDs[$0] ?? "0-0" }
                    let command = ["XREAD", "COUNT", "1024", "BLOCK", String(Self.followBlockMs), "STREAMS"] + keys + ids
                    let reply = try await connection.send(command.map { Array($0.utf8) }, timeout: .milliseconds(Int64(Self.followBlockMs) + 2000))
                    for stream in reply.array ?? [] {
                        guard let parts = stream.array, parts.count == 2, let key = parts[0].string,
                            let last = parts[1].array?.last?.array?.first?.string,
                            let eventID = events.first(where: { Self.prefix($0) + "log" == key })
                        else { continue }
                        lastIDs[eventID] = last
                        changeFeed.markChanged(eventID)
                    }
                } catch {
                    logger.debug("following the change logs failed; retrying", metadata: ["error": "\(error)"])
                    await connection?.close()
                    connection = nil
                    try? await Task.sleep(for: .milliseconds(Self.followBlockMs))
                }
            }
            await connection?.close()
        } onGracefulShutdown: {
        }
    }
}
