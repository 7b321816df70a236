import PulseProtocol
import PulseScenario

/// One thing the nemesis does to a running deployment: begins `atMs` after the users start,
/// lasts `durationMs`, then is healed.
public struct NemesisAction: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// SIGSTOP, then SIGCONT: the process stops in its tracks, its connections stay open.
        case pause(String)
        /// SIGKILL, then a restart on the same data.
        case crash(String)
        /// A restart of the hot store, which keeps nothing on disk: every hold and change log is gone.
        case hotStateLoss(String)
        /// Every packet between the two dropped, both ways.
        case partition(NetworkLab.Peer, NetworkLab.Peer)
        /// `percent` of the packets from the first to the second dropped, each at random.
        case loss(from: NetworkLab.Peer, to: NetworkLab.Peer, percent: Int)
        /// The process's wall clock set `byMs` away from the host's (libfaketime), then back in step.
        case clockStep(String, byMs: Int64)
    }

    public var kind: Kind
    /// When it begins, in ms after the users start.
    public var atMs: Int64
    public var durationMs: Int64

    public init(_ kind: Kind, atMs: Int64, durationMs: Int64) {
        self.kind = kind
        self.atMs = atMs
        self.durationMs = durationMs
    }
}

/// The scenario's fault schedule turned into actions on a real deployment: the same fields the
/// simulator reads, each to the real fault nearest its meaning, and the fields that have no real
/// counterpart here with the reason (printed before a run).
public struct NemesisPlan: Sendable, Equatable {
    public var actions: [NemesisAction]
    public var unhonoured: [String]

    /// The processes whose clock some action steps: they start under libfaketime
    /// (``DeploymentRun/start(_:tools:directory:readyWithin:steppedClocks:)``).
    public var steppedClocks: Set<String> {
        Set(actions.compactMap { if case .clockStep(let name, _) = $0.kind { name } else { nil } })
    }

    /// How long the faulty phase lasts when the scenario does not say (`phases.faults_ms`, else `limits.duration_ms`).
    public static let defaultFaultyMs: Int64 = 20_000

    /// The plan for `configuration` on `deployment`, drawn from the scenario's seed (the same
    /// scenario and deployment give the same plan); scenario file fields:
    /// - `faults.server_crash`: at each `at_ms` an api instance (in turn) killed, restarted `down_ms` later;
    /// - `faults.hot_state_loss`: at each `at_ms` the hot store restarted empty;
    /// - `faults.pause` (any probability): one process at a time (an api instance, the hot or the
    ///   durable store, drawn) stopped for `ms`, one pause beginning every two `ms`;
    /// - `faults.durable_errors` (any probability): an api instance (in turn) cut from the durable
    ///   store both ways for 2 s of every 5 s;
    /// - `faults.requests` `drop` and `response_drop`: that share of the packets from the clients
    ///   to every api instance (and back) lost, all through the faulty phase (`phases.faults_ms`);
    /// - `faults.clock_jumps`: at each `at_ms` the clock of an api instance (in turn) stepped
    ///   `by_ms` away from the others' until the faulty phase ends, then back.
    public static func plan(_ configuration: SimConfiguration, deployment: Deployment) -> NemesisPlan {
        var random = SeededRandom(seed: configuration.seed &* 0x9E37_79B9_7F4A_7C15 &+ 7)
        let faultyMs = configuration.faultsUntilMs ?? configuration.durationLimitMs ?? defaultFaultyMs
        let apis = deployment.apis.map(\.name)
        let hot = deployment.processes.first { $0.role == .hotStore }?.name
        let durable = deployment.processes.first { $0.role == .durableStore }?.name
        var actions: [NemesisAction] = []
        var unhonoured: [String] = []
        for (turn, at) in configuration.serverCrashAtMs.enumerated() where !apis.isEmpty {
            actions.append(NemesisAction(.crash(apis[turn % apis.count]), atMs: at, durationMs: configuration.serverDownMs))
        }
        if let hot {
            for at in configuration.hotStateLossAtMs { actions.append(NemesisAction(.hotStateLoss(hot), atMs: at, durationMs: 0)) }
        } else if !configuration.hotStateLossAtMs.isEmpty {
            unhonoured.append("hot-state losses (the deployment has no hot_store process)")
        }
        if configuration.pauseProbability > 0 {
            let targets = apis + [hot, durable].compactMap { $0 }
            var at = configuration.pauseMs / 2
            while at + configuration.pauseMs <= faultyMs, !targets.isEmpty {
                actions.append(NemesisAction(.pause(targets[random.below(targets.count)]), atMs: at, durationMs: configuration.pauseMs))
                at += 2 * configuration.pauseMs
            }
        }
        if configuration.durableFailureProbability > 0 {
            if let durable {
                var at: Int64 = 1_000
                var turn = 0
                while at + 2_000 <= faultyMs, !apis.isEmpty {
                    actions.append(NemesisAction(.partition(.member(apis[turn % apis.count]), .member(durable)), atMs: at, durationMs: 2_000))
                    at += 5_000
                    turn += 1
                }
            } else {
                unhonoured.append("durable-store failures (the deployment has no durable_store process)")
            }
        }
        for api in apis {
            let toServer = Int((configuration.requestDropProbability * 100).rounded())
            let toClients = Int((configuration.responseDropProbability * 100).rounded())
            if toServer > 0 {
                actions.append(NemesisAction(.loss(from: .clients, to: .member(api), percent: toServer), atMs: 0, durationMs: faultyMs))
            }
            if toClients > 0 {
                actions.append(NemesisAction(.loss(from: .member(api), to: .clients, percent: toClients), atMs: 0, durationMs: faultyMs))
            }
        }
        for (turn, jump) in configuration.clockJumps.enumerated() where !apis.isEmpty {
            guard jump.atMs < faultyMs else {
                unhonoured.append("the clock jump at \(jump.atMs) ms (after the faulty phase, \(faultyMs) ms)")
                continue
            }
            actions.append(NemesisAction(.clockStep(apis[turn % apis.count], byMs: jump.byMs), atMs: jump.atMs, durationMs: faultyMs - jump.atMs))
        }
        func note(_ active: Bool, _ what: String) { if active { unhonoured.append(what) } }
        note(!configuration.failoverAtMs.isEmpty, "failovers (not yet: a deployment with a Redis replica and a moving address)")
        note(
            configuration.requestDelayProbability > 0,
            "request delays (tc netem is missing from these kernels; packet loss delays by retransmission instead)")
        note(configuration.requestDuplicateProbability > 0, "duplicated requests (TCP delivers each request once)")
        note(
            configuration.messageDelayProbability > 0 || configuration.messageDropProbability > 0,
            "live-message faults (TCP delivers every message, in order)")
        note(configuration.subscriberDropProbability > 0, "subscriber disconnects (a crashed instance disconnects its subscribers)")
        note(configuration.clientCrashProbability > 0, "client crashes")
        return NemesisPlan(actions: actions.sorted { ($0.atMs, $0.durationMs) < ($1.atMs, $1.durationMs) }, unhonoured: unhonoured)
    }
}

extension NemesisAction.Kind: CustomStringConvertible {
    public var description: String {
        func name(_ peer: NetworkLab.Peer) -> String {
            switch peer {
            case .clients: "the clients"
            case .member(let name): name
            }
        }
        switch self {
        case .pause(let name): return "pause \(name) (SIGSTOP, then SIGCONT)"
        case .crash(let name): return "crash \(name) (SIGKILL), then restart it on its data"
        case .hotStateLoss(let name): return "restart \(name) empty (its hot state lost)"
        case .partition(let one, let other): return "cut \(name(one)) from \(name(other)), both ways"
        case .loss(let from, let to, let percent): return "lose \(percent)% of the packets from \(name(from)) to \(name(to))"
        case .clockStep(let name, let byMs): return "step the clock of \(name) by \(byMs > 0 ? "+" : "")\(byMs) ms (libfaketime), then back"
        }
    }
}
