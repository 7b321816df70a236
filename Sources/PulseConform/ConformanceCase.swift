/// How a case came out (the grades of the conformance report).
public enum Grade: String, Sendable, Codable, CaseIterable {
    /// The target does what the clause says.
    case ok = "OK"
    /// A SHOULD of the clause is missed.
    case nonStrict = "NON-STRICT"
    /// A MUST of the clause is missed.
    case failed = "FAILED"
    /// An optional capability the case needs is absent (for example the test-control profile).
    case unimplemented = "UNIMPLEMENTED"
    /// The case ran but its evidence decides nothing: the target limited the suite's own pace, or
    /// a race came out too late to show either way in every round. Never a failure of the target;
    /// the evidence says why.
    case inconclusive = "INCONCLUSIVE"
    /// Measured or observed, not graded.
    case informational = "INFORMATIONAL"
}

/// The force of the clause a case checks (RFC 2119, as SPEC.md uses it).
public enum Requirement: String, Sendable, Codable {
    case must = "MUST"
    case should = "SHOULD"
    case info = "INFO"
}

/// What a case needs from the target beyond the protocol itself (SPEC.md §14).
public enum Capability: String, Sendable, Codable, CaseIterable {
    /// An admin token: from the test-control profile, or `--admin-email` and `--admin-password`.
    case admin
    /// The test-control headers: short hold TTLs, named rate-limit clients, stalls.
    case testControl = "test-control"
    /// A command that restarts the target (`--restart-command`): kill it hard and start it again
    /// on the same stores, to check that what was acknowledged survives.
    case restart
}

/// One conformance case: a check of one clause of SPEC.md against a live target.
public struct ConformanceCase: Sendable {
    /// Stable id, `area.what` (for example `holds.all-or-nothing`).
    public var id: String
    /// The SPEC.md clause it tests (for example `PB-HOLD-4`).
    public var clause: String
    public var requirement: Requirement
    /// One line on what it checks.
    public var title: String
    public var needs: Set<Capability>
    /// What the case asserts of the target's answers (shown in CONFORMANCE.md).
    public var checks: Checks = .exact
    /// Whether the case may bring a defective target down (a payload that crashes the seed): it
    /// runs alone, after every other case, so no other case fails for its sake.
    public var runsLast = false
    /// Whether the case checks a rate limit itself (it expects 429s): the suite then does not wait
    /// out and resend the requests the target rate-limits, as it does for every other case.
    public var checksRateLimits = false
    /// Longest the case may take, when longer than the runner's limit for every case.
    public var timeoutSeconds: Double?
    /// Runs the case: returns when the target conforms, throws ``CaseFailure`` when it does not.
    public var run: @Sendable (CaseContext) async throws -> Void

    /// A MUST case.
    public init(
        _ id: String, _ clause: String, _ title: String, needs: Set<Capability> = [.admin],
        run: @escaping @Sendable (CaseContext) async throws -> Void
    ) {
        self.init(id, clause, .must, title, needs: needs, run: run)
    }

    public init(
        _ id: String, _ clause: String, _ requirement: Requirement, _ title: String, needs: Set<Capability> = [.admin],
        run: @escaping @Sendable (CaseContext) async throws -> Void
    ) {
        self.id = id
        self.clause = clause
        self.requirement = requirement
        self.title = title
        self.needs = needs
        self.run = run
    }
}

/// What a case asserts of the target's answers.
public enum Checks: String, Sendable, Codable {
    /// The exact status and error code its clause names.
    case exact
    /// Statuses only (a seed-style server has no error codes).
    case statusOnly = "status only"
    /// One of the behaviours SPEC.md §14 lists as an implementation choice.
    case choice
    /// Observed behaviour (broadcasts, outcomes of races), no status of its own.
    case behaviour
}

extension ConformanceCase {
    /// This case, asserting `checks` of the answers.
    func checking(_ checks: Checks) -> ConformanceCase {
        var copy = self
        copy.checks = checks
        return copy
    }

    /// This case, allowed `seconds` (it does much more work than most).
    func taking(seconds: Double) -> ConformanceCase {
        var copy = self
        copy.timeoutSeconds = seconds
        return copy
    }

    /// This case, which expects the target's 429s (it checks a rate limit).
    func expectingRateLimits() -> ConformanceCase {
        var copy = self
        copy.checksRateLimits = true
        return copy
    }

    /// This case, run alone after every other case (it may bring a defective target down).
    func last() -> ConformanceCase {
        var copy = self
        copy.runsLast = true
        return copy
    }
}

/// Why a case found the target wanting: what was expected and what came instead.
public struct CaseFailure: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A case that cannot run against this target (a capability it does not offer).
public struct CaseUnimplemented: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A case whose evidence cannot decide (graded INCONCLUSIVE): the target limited the suite's own
/// pace (429), or a race came out too late in every round to show either way. Says why.
public struct CaseInconclusive: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The result of one case.
public struct CaseResult: Sendable, Codable {
    public var id: String
    public var clause: String
    public var requirement: Requirement
    public var title: String
    public var grade: Grade
    public var durationSeconds: Double
    /// What the case saw: the failure, the requests and answers that show it, or a note.
    public var evidence: [String]
}
