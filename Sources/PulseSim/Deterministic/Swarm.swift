import PulseEngine
import PulseHistory
import PulseProtocol
import PulseScenario

/// Swarm testing: each seed of a swarm runs the scenario with its own fault mix, drawn from the
/// seed, so that some seeds stress one fault family hard while others leave it out entirely.
public struct SwarmDraw: Sendable, Equatable, Codable {
    /// Multipliers (0 = off, up to 2) of the scenario's rates, per fault family.
    public var pause: Double
    public var network: Double
    public var messages: Double
    public var durable: Double
    public var clients: Double
    public var subscribers: Double

    /// The draw of `seed`: per family, off one time in four, else a multiplier in 0...2.
    public init(seed: UInt64) {
        var dice = SeededRandom(seed: seed ^ 0x5EED_FA17)
        func draw() -> Double { dice.below(4) == 0 ? 0 : Double(dice.below(2001)) / 1000 }
        pause = draw()
        network = draw()
        messages = draw()
        durable = draw()
        clients = draw()
        subscribers = draw()
    }

    /// `configuration` with its fault rates scaled by this draw (capped at 1).
    public func applied(to configuration: SimConfiguration) -> SimConfiguration {
        var c = configuration
        func scale(_ p: Double, _ by: Double) -> Double { min(1, p * by) }
        c.pauseProbability = scale(c.pauseProbability, pause)
        c.requestDelayProbability = scale(c.requestDelayProbability, network)
        c.requestDropProbability = scale(c.requestDropProbability, network)
        c.responseDropProbability = scale(c.responseDropProbability, network)
        c.requestDuplicateProbability = scale(c.requestDuplicateProbability, network)
        c.messageDelayProbability = scale(c.messageDelayProbability, messages)
        c.messageDropProbability = scale(c.messageDropProbability, messages)
        c.durableFailureProbability = scale(c.durableFailureProbability, durable)
        c.clientCrashProbability = scale(c.clientCrashProbability, clients)
        c.subscriberDropProbability = scale(c.subscriberDropProbability, subscribers)
        return c
    }

    /// For the summary table: `pause×1.20 net×0 msg×0.35 ...`.
    public var summary: String {
        [("pause", pause), ("net", network), ("msg", messages), ("durable", durable), ("crash", clients), ("drop", subscribers)]
            .map { "\($0)×\($1 == 0 ? "0" : String(format: "%.2f", $1))" }.joined(separator: " ")
    }
}
