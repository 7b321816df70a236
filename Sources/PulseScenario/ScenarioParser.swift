import PulseHistory
import Yams

/// Why a scenario file cannot be used; names the line and the field.
public struct ScenarioError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var field: String
    public var problem: String
    public var description: String { "line \(line): \(field): \(problem)" }
}

/// Reads scenario files strictly: every field is known, typed and in range, or the error names it.
public enum ScenarioParser {
    /// Parses YAML text. Throws ``ScenarioError``.
    public static func parse(_ text: String) throws -> Scenario {
        var reader = try MappingReader(document: text)
        var simulation = SimConfiguration()
        let name = try reader.string("name")
        let description = try reader.optionalString("description") ?? ""
        simulation.seed = UInt64(try reader.int("seed", 0...Int.max, default: 1))
        if var venue = try reader.mapping("venue") {
            simulation.rows = try venue.int("rows", 1...26, default: simulation.rows)
            simulation.cols = try venue.int("cols", 1...50, default: simulation.cols)
            try venue.finish()
        }
        if var users = try reader.mapping("users") {
            simulation.users = try users.int("count", 1...100_000, default: simulation.users)
            simulation.operationsPerUser = try users.int("operations", 1...1000, default: simulation.operationsPerUser)
            simulation.rampMs = Int64(try users.int("ramp_ms", 0...86_400_000, default: 0))
            switch try users.optionalString("arrival") ?? "closed" {
            case "closed":
                if users.has("rate_per_second") {
                    throw ScenarioError(
                        line: users.line(of: "rate_per_second"), field: "users.rate_per_second", problem: "only an open arrival has a rate")
                }
            case "open":
                simulation.arrival = .open(perSecond: try users.number("rate_per_second", 0.001...1_000_000))
            default:
                throw ScenarioError(line: users.line(of: "arrival"), field: "users.arrival", problem: "expected 'closed' or 'open'")
            }
            try users.finish()
        }
        if var behaviour = try reader.mapping("behaviour") {
            simulation.seatsPerHoldMax = try behaviour.int("seats_per_hold_max", 1...10, default: simulation.seatsPerHoldMax)
            simulation.hotSpotShare = try behaviour.probability("hot_spot_share", default: simulation.hotSpotShare)
            simulation.thinkMsMax = Int64(try behaviour.int("think_ms_max", 0...3_600_000, default: Int(simulation.thinkMsMax)))
            simulation.checkoutProbability = try behaviour.probability("checkout", default: simulation.checkoutProbability)
            simulation.releaseProbability = try behaviour.probability("release", default: simulation.releaseProbability)
            simulation.extendProbability = try behaviour.probability("extend", default: simulation.extendProbability)
            simulation.retryProbability = try behaviour.probability("retry_same_key", default: simulation.retryProbability)
            simulation.releaseBySeatsShare = try behaviour.probability("release_by_seats", default: simulation.releaseBySeatsShare)
            simulation.browseProbability = try behaviour.probability("browse", default: simulation.browseProbability)
            simulation.cancelProbability = try behaviour.probability("cancel", default: simulation.cancelProbability)
            simulation.cancelAgainProbability = try behaviour.probability("cancel_again", default: simulation.cancelAgainProbability)
            try behaviour.finish()
        }
        if var engine = try reader.mapping("engine") {
            simulation.holdTTLSeconds = try engine.int("hold_ttl_seconds", 1...3600, default: simulation.holdTTLSeconds)
            simulation.heldSeatsPerUserMax = try engine.int("held_seats_max", 1...1300, default: simulation.heldSeatsPerUserMax)
            simulation.checkoutLeaseSeconds = try engine.int("checkout_lease_seconds", 1...600, default: simulation.checkoutLeaseSeconds)
            try engine.finish()
        }
        if var observers = try reader.mapping("observers") {
            simulation.subscribers = try observers.int("subscribers", 0...100, default: simulation.subscribers)
            simulation.subscriberPollMs = Int64(try observers.int("poll_ms", 1...60_000, default: Int(simulation.subscriberPollMs)))
            simulation.sweepIntervalMs = Int64(try observers.int("sweep_interval_ms", 1...60_000, default: Int(simulation.sweepIntervalMs)))
            simulation.changeLogCapacity = try observers.int("change_log", 1...1_000_000, default: simulation.changeLogCapacity)
            try observers.finish()
        }
        if var faults = try reader.mapping("faults") {
            if var pause = try faults.mapping("pause") {
                simulation.pauseProbability = try pause.probability("probability", default: simulation.pauseProbability)
                simulation.pauseMs = Int64(try pause.int("ms", 0...3_600_000, default: Int(simulation.pauseMs)))
                try pause.finish()
            } else {
                simulation.pauseProbability = 0
            }
            if var drop = try faults.mapping("subscriber_drop") {
                simulation.subscriberDropProbability = try drop.probability("probability", default: 0.05)
                simulation.subscriberDropMs = Int64(try drop.int("ms", 0...3_600_000, default: Int(simulation.subscriberDropMs)))
                try drop.finish()
            }
            if var durable = try faults.mapping("durable_errors") {
                simulation.durableFailureProbability = try durable.probability("probability", default: 0.05)
                try durable.finish()
            }
            if var crash = try faults.mapping("client_crash") {
                simulation.clientCrashProbability = try crash.probability("probability", default: 0.05)
                try crash.finish()
            }
            if var loss = try faults.mapping("hot_state_loss") {
                simulation.hotStateLossAtMs = try loss.intList("at_ms", 0...86_400_000).map(Int64.init)
                try loss.finish()
            }
            if var requests = try faults.mapping("requests") {
                simulation.requestDelayProbability = try requests.probability("delay", default: 0)
                simulation.requestDelayMsMax = Int64(try requests.int("delay_ms_max", 1...3_600_000, default: Int(simulation.requestDelayMsMax)))
                simulation.requestDropProbability = try requests.probability("drop", default: 0)
                simulation.responseDropProbability = try requests.probability("response_drop", default: 0)
                simulation.requestDuplicateProbability = try requests.probability("duplicate", default: 0)
                simulation.clientTimeoutMs = Int64(try requests.int("timeout_ms", 1...3_600_000, default: Int(simulation.clientTimeoutMs)))
                try requests.finish()
            }
            if var messages = try faults.mapping("messages") {
                simulation.messageDelayProbability = try messages.probability("delay", default: 0)
                simulation.messageDelayMsMax = Int64(try messages.int("delay_ms_max", 1...3_600_000, default: Int(simulation.messageDelayMsMax)))
                simulation.messageDropProbability = try messages.probability("drop", default: 0)
                try messages.finish()
            }
            if var failover = try faults.mapping("failover") {
                simulation.failoverAtMs = try failover.intList("at_ms", 0...86_400_000).map(Int64.init)
                simulation.failoverLagMs = Int64(try failover.int("lag_ms", 0...3_600_000, default: Int(simulation.failoverLagMs)))
                try failover.finish()
            }
            if let jumps = try faults.mappings("clock_jumps") {
                simulation.clockJumps = try jumps.map { jump in
                    var jump = jump
                    let result = SimConfiguration.ClockJump(
                        atMs: Int64(try jump.int("at_ms", 0...86_400_000, required: true)),
                        byMs: Int64(try jump.int("by_ms", -86_400_000...86_400_000, required: true)))
                    try jump.finish()
                    return result
                }
            }
            if var crash = try faults.mapping("server_crash") {
                simulation.serverCrashAtMs = try crash.intList("at_ms", 0...86_400_000).map(Int64.init)
                simulation.serverDownMs = Int64(try crash.int("down_ms", 0...3_600_000, default: Int(simulation.serverDownMs)))
                try crash.finish()
            }
            try faults.finish()
        } else {
            simulation.pauseProbability = 0
        }
        if var phases = try reader.mapping("phases") {
            if phases.has("faults_ms") { simulation.faultsUntilMs = Int64(try phases.int("faults_ms", 0...86_400_000, default: 0)) }
            if phases.has("quiesce_ms") { simulation.quiesceMs = Int64(try phases.int("quiesce_ms", 0...3_600_000, default: 0)) }
            try phases.finish()
        }
        if var limits = try reader.mapping("limits") {
            if limits.has("duration_ms") { simulation.durationLimitMs = Int64(try limits.int("duration_ms", 1...86_400_000, default: 0)) }
            if limits.has("operations") { simulation.operationsLimit = try limits.int("operations", 1...100_000_000, default: 0) }
            try limits.finish()
        }
        let checks = try reader.checks()
        try reader.finish()
        return Scenario(name: name, description: description, simulation: simulation, checks: checks)
    }

}

/// Reads one YAML mapping field by field and refuses the fields it was not asked for. Every
/// error is a ``ScenarioError`` naming the line and the field. Shared by the package's strict
/// file formats (scenarios, deployments).
package struct MappingReader {
    let node: Node
    package let path: String
    private var fields: [(key: String, value: Node, line: Int)] = []
    private var used: Set<String> = []

    /// The top mapping of a YAML document.
    package init(document text: String) throws {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else { throw ScenarioError(line: 1, field: "(file)", problem: "the file is empty") }
            root = composed
        } catch let error as ScenarioError {
            throw error
        } catch let error as YamlError {
            throw ScenarioError(line: Self.line(of: error), field: "(file)", problem: "not valid YAML: \(error)")
        }
        try self.init(root, path: "")
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: 1
        }
    }

    init(_ node: Node, path: String) throws {
        self.node = node
        self.path = path
        guard let mapping = node.mapping else {
            throw ScenarioError(line: node.mark?.line ?? 1, field: path.isEmpty ? "(file)" : path, problem: "expected a mapping of fields")
        }
        for (key, value) in mapping {
            guard let name = key.string else { throw ScenarioError(line: key.mark?.line ?? 1, field: path, problem: "a field name must be text") }
            fields.append((name, value, key.mark?.line ?? 1))
        }
    }

    private func qualified(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private mutating func take(_ key: String) -> (value: Node, line: Int)? {
        used.insert(key)
        return fields.first { $0.key == key }.map { ($0.value, $0.line) }
    }

    private func fail(_ key: String, _ line: Int, _ problem: String) -> ScenarioError {
        ScenarioError(line: line, field: qualified(key), problem: problem)
    }

    package mutating func string(_ key: String) throws -> String {
        guard let field = take(key) else { throw fail(key, node.mark?.line ?? 1, "missing") }
        guard let text = field.value.string, field.value.scalar != nil, !text.isEmpty else { throw fail(key, field.line, "expected text") }
        return text
    }

    package mutating func optionalString(_ key: String) throws -> String? {
        guard let field = take(key) else { return nil }
        guard let text = field.value.string, field.value.scalar != nil else { throw fail(key, field.line, "expected text") }
        return text
    }

    package mutating func int(_ key: String, _ range: ClosedRange<Int>, default value: Int = 0, required: Bool = false) throws -> Int {
        guard let field = take(key) else {
            if required { throw fail(key, node.mark?.line ?? 1, "missing") }
            return value
        }
        guard let number = field.value.int else { throw fail(key, field.line, "expected a whole number") }
        guard range.contains(number) else { throw fail(key, field.line, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    /// A list of whole numbers in `range` (required).
    mutating func intList(_ key: String, _ range: ClosedRange<Int>) throws -> [Int] {
        guard let field = take(key) else { throw fail(key, node.mark?.line ?? 1, "missing") }
        guard let items = field.value.sequence else { throw fail(key, field.line, "expected a list of whole numbers") }
        return try items.map { item in
            guard let number = item.int, range.contains(number) else {
                throw fail(key, item.mark?.line ?? field.line, "expected whole numbers in \(range.lowerBound)...\(range.upperBound)")
            }
            return number
        }
    }

    mutating func probability(_ key: String, default value: Double) throws -> Double {
        guard let field = take(key) else { return value }
        guard let number = field.value.float ?? field.value.int.map(Double.init) else { throw fail(key, field.line, "expected a number") }
        guard (0...1).contains(number) else { throw fail(key, field.line, "\(number) is not a probability (0...1)") }
        return number
    }

    /// A required number in `range`.
    mutating func number(_ key: String, _ range: ClosedRange<Double>) throws -> Double {
        guard let field = take(key) else { throw fail(key, node.mark?.line ?? 1, "missing") }
        guard let number = field.value.float ?? field.value.int.map(Double.init) else { throw fail(key, field.line, "expected a number") }
        guard range.contains(number) else { throw fail(key, field.line, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    /// A list of mappings, each read by the caller.
    package mutating func mappings(_ key: String) throws -> [MappingReader]? {
        guard let field = take(key) else { return nil }
        guard let items = field.value.sequence else { throw fail(key, field.line, "expected a list") }
        return try items.enumerated().map { try MappingReader($1, path: "\(qualified(key))[\($0)]") }
    }

    /// The line of `key` (or of the mapping when it is absent), for errors found later.
    package func line(of key: String) -> Int { fields.first { $0.key == key }?.line ?? node.mark?.line ?? 1 }

    /// Whether the mapping has `key` (without reading it).
    package func has(_ key: String) -> Bool { fields.contains { $0.key == key } }

    package mutating func mapping(_ key: String) throws -> MappingReader? {
        guard let field = take(key) else { return nil }
        return try MappingReader(field.value, path: qualified(key))
    }

    /// `checks: all` or a list of invariant names.
    mutating func checks() throws -> [Invariant] {
        guard let field = take("checks") else { return Invariant.allCases }
        if field.value.string == "all" { return Invariant.allCases }
        guard let items = field.value.sequence else { throw fail("checks", field.line, "expected 'all' or a list of invariants") }
        return try items.map { item in
            guard let name = item.string, let invariant = Invariant(rawValue: name) else {
                throw fail(
                    "checks", item.mark?.line ?? field.line,
                    "unknown invariant '\(item.string ?? "?")'; one of \(Invariant.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return invariant
        }
    }

    /// Refuses any field that was not read.
    package func finish() throws {
        if let unknown = fields.first(where: { !used.contains($0.key) }) {
            throw fail(unknown.key, unknown.line, "unknown field")
        }
    }
}
