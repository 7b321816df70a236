import PulseHistory

/// A scenario file (`Scenarios/*.yaml`, documented in `Scenarios/README.md`): a named race worth
/// keeping, as the simulation it runs and the invariants it checks.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var description: String
    /// The simulation (its `seed` is the scenario's default seed).
    public var simulation: SimConfiguration
    /// The invariants to check; all by default.
    public var checks: [Invariant]

    public init(name: String, description: String, simulation: SimConfiguration, checks: [Invariant] = Invariant.allCases) {
        self.name = name
        self.description = description
        self.simulation = simulation
        self.checks = checks
    }
}
