import PulseConform
import PulseHistory
import PulseScenario
import PulseWire

/// A scenario on a real deployment with real faults (`pulse sim SCENARIO --deploy FILE`): the
/// scenario's users and subscribers spread over the deployment's api instances in real time,
/// while a ``Nemesis`` carries out the scenario's fault schedule on the processes and links;
/// the history they record (faults included) is checked as any wire run's is.
public enum RealFaultRun {
    /// What a run produced.
    public struct Outcome: Sendable {
        public var wire: WireRunner.Outcome
        public var plan: NemesisPlan
        /// Each fault and the operations it overlapped.
        public var coverage: [FaultCoverage]
    }

    /// Where the run gets its admin on a server without test control (the seed stand-in): an
    /// admin account, and the hold TTL the server was started with.
    public struct Admin: Sendable {
        public var email: String
        public var password: String
        public var holdTTLSeconds: Double?

        public init(email: String, password: String, holdTTLSeconds: Double? = nil) {
            self.email = email
            self.password = password
            self.holdTTLSeconds = holdTTLSeconds
        }
    }

    /// Runs `configuration` on the started deployment `run`. Throws when the first api instance
    /// cannot be prepared (neither test control nor `admin`, unreachable) or the run cannot be set
    /// up; what the users meet once it runs is recorded, not thrown. The deployment stays up (its
    /// owner stops it).
    public static func run(
        _ configuration: SimConfiguration, on run: DeploymentRun, profile: Profile, runID: String, admin: Admin? = nil
    ) async throws -> Outcome {
        let instances = zip(run.deployment.apis, run.apiURLs).map { WireInstance(name: $0.name, baseURL: $1) }
        guard let first = instances.first else { throw DeploymentRunError("\(run.deployment.name) has no api process") }
        let session = try await ConformanceRunner(
            baseURL: first.baseURL, runID: runID, profile: profile, adminEmail: admin?.email, adminPassword: admin?.password,
            holdTTLSeconds: admin?.holdTTLSeconds
        ).prepare()
        guard session.adminToken != nil else {
            throw DeploymentRunError(
                "\(first.name) offers no test control: start it with --test-control, or give an admin account (--admin-email, --admin-password)")
        }
        let plan = NemesisPlan.plan(configuration, deployment: run.deployment)
        let nemesis = Nemesis(run: run, actions: plan.actions)
        let outcome = try await WireRunner(session: session).run(
            configuration, profile: profile, instances: instances, nemesis: { record in await nemesis.perform(record: record) })
        return Outcome(wire: outcome, plan: plan, coverage: FaultCoverage.of(outcome.history))
    }
}

/// A fault of a real deployment and how many operations were under way while it lasted: a fault
/// that overlapped no operation proved nothing.
public struct FaultCoverage: Sendable, Equatable {
    public var fault: String
    public var target: String
    public var startNs: Int64
    public var endNs: Int64
    public var overlapped: Int

    /// Every fault with a `target` in `history`, in time order.
    public static func of(_ history: [HistoryRecord]) -> [FaultCoverage] {
        let operations = HistoryIndex(history).operations
        let lastNs = history.last?.timeNs ?? 0
        return history.filter { $0.type == .fault && $0.string("target") != nil }.map { fault in
            let endNs = max(fault.timeNs, fault.int("end_ns") ?? fault.timeNs)
            let overlapped = operations.filter { operation in
                operation.invoke.timeNs <= endNs && (operation.completion?.timeNs ?? lastNs) >= fault.timeNs
            }.count
            return FaultCoverage(fault: fault.f, target: fault.string("target") ?? "", startNs: fault.timeNs, endNs: endNs, overlapped: overlapped)
        }
    }
}
