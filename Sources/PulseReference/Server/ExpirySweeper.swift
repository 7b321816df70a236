import Logging
import PulseEngine
import ServiceLifecycle

/// The server's own expiry loop (PB-HOLD-8): calls ``BookingEngine/sweep()`` every interval,
/// so that expired holds are broadcast within TTL + interval, without Redis keyspace notifications.
public struct ExpirySweeper: Service {
    let engine: BookingEngine
    let interval: Duration
    let logger: Logger

    public init(engine: BookingEngine, interval: Duration, logger: Logger) {
        self.engine = engine
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await engine.sweep()
            } catch {
                logger.warning("expiry sweep failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
