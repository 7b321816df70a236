import Foundation
import PulseConform
import PulseHistory
import PulseScenario
import Testing

@testable import PulseDeploy

/// The scenario's fault schedule carried out on a real deployment while its users run.
@Suite("Real faults on real deployments", .serialized, .timeLimit(.minutes(10)))
struct RealFaultTests {
    /// A scenario with every fault family a real deployment carries out, short enough for CI.
    static func mixedFaults(seed: UInt64 = 5) -> SimConfiguration {
        var configuration = SimConfiguration(seed: seed)
        configuration.rows = 2
        configuration.cols = 8
        configuration.users = 6
        configuration.operationsPerUser = 8
        configuration.thinkMsMax = 700
        configuration.holdTTLSeconds = 3
        configuration.subscribers = 2
        configuration.browseProbability = 0.5
        configuration.pauseProbability = 0.01
        configuration.pauseMs = 1_500
        configuration.serverCrashAtMs = [2_000]
        configuration.serverDownMs = 1_500
        configuration.hotStateLossAtMs = [5_500]
        configuration.durableFailureProbability = 0.01
        configuration.requestDropProbability = 0.02
        configuration.faultsUntilMs = 9_000
        return configuration
    }

    @Test("the plan maps each fault field of the scenario onto a real fault, the same for the same seed, and names what it cannot do")
    func plan() throws {
        let deployment = try DeploymentFileTests.shipped("pulse.yaml")
        var configuration = Self.mixedFaults()
        configuration.clockJumps = [.init(atMs: 100, byMs: 5_000)]
        let plan = NemesisPlan.plan(configuration, deployment: deployment)
        #expect(plan == NemesisPlan.plan(configuration, deployment: deployment))
        #expect(plan.actions.contains(NemesisAction(.crash("api1"), atMs: 2_000, durationMs: 1_500)))
        #expect(plan.actions.contains(NemesisAction(.hotStateLoss("redis"), atMs: 5_500, durationMs: 0)))
        #expect(plan.actions.contains(NemesisAction(.partition(.member("api1"), .member("mongo")), atMs: 1_000, durationMs: 2_000)))
        #expect(plan.actions.contains(NemesisAction(.partition(.member("api2"), .member("mongo")), atMs: 6_000, durationMs: 2_000)))
        #expect(plan.actions.contains(NemesisAction(.loss(from: .clients, to: .member("api3"), percent: 2), atMs: 0, durationMs: 9_000)))
        let pauses = plan.actions.filter { if case .pause = $0.kind { true } else { false } }
        #expect(pauses.map(\.atMs) == [750, 3_750, 6_750], "one pause every two pause_ms, each within the faulty phase")
        #expect(plan.actions.allSatisfy { $0.atMs + $0.durationMs <= 9_000 })
        #expect(plan.actions.contains(NemesisAction(.clockStep("api1", byMs: 5_000), atMs: 100, durationMs: 8_900)))
        #expect(plan.steppedClocks == ["api1"])
        #expect(plan.unhonoured.isEmpty, "\(plan.unhonoured)")
        configuration.clockJumps = [.init(atMs: 9_500, byMs: 5_000)]
        #expect(NemesisPlan.plan(configuration, deployment: deployment).unhonoured.contains { $0.contains("after the faulty phase") })
        #expect(NemesisPlan.plan(SimConfiguration(seed: 1).withoutFaults, deployment: deployment).actions.isEmpty, "no faults unless named")
    }

    @Test(
        "every scenario in Deployments/scenarios plans real faults on Deployments/pulse.yaml, each inside its faulty phase, none it cannot carry out")
    func shippedScenarios() throws {
        let deployment = try DeploymentFileTests.shipped("pulse.yaml")
        let directory = DeploymentFileTests.root.appendingPathComponent("Deployments/scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files == ["clock.yaml", "crash.yaml", "loss.yaml", "mix.yaml", "partition.yaml", "pause.yaml", "redis-restart.yaml"])
        for file in files {
            let scenario = try ScenarioParser.parse(try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8))
            let plan = NemesisPlan.plan(scenario.simulation, deployment: deployment)
            #expect(!plan.actions.isEmpty && plan.unhonoured.isEmpty, "\(file): \(plan.unhonoured)")
            #expect(plan.actions.allSatisfy { $0.atMs + $0.durationMs <= scenario.simulation.faultsUntilMs ?? 0 }, "\(file)")
        }
    }

    @Test(
        "Pulse's three instances keep every invariant and every seat linearizable while an instance crashes, processes pause, Redis restarts empty, the database is cut off and packets are lost",
        .enabled(if: NetworkLab.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")))
    func pulseUnderMixedFaults() async throws {
        try await DeploymentRunTests.with(try DeploymentFileTests.shipped("pulse.yaml")) { run in
            let outcome = try await RealFaultRun.run(Self.mixedFaults(), on: run, profile: .pulse, runID: "rf\(getpid())")
            let history = outcome.wire.history
            let kept = Self.keepIfBroken(outcome)
            #expect(outcome.wire.violations.isEmpty, "\(outcome.wire.violations.prefix(3)); history in \(kept)")
            #expect(
                outcome.wire.linearizability.violations.isEmpty,
                "\(outcome.wire.linearizability.violations.prefix(3).map(\.explanation)); history in \(kept)")
            let faults = history.filter { $0.type == .fault && $0.string("target") != nil }
            #expect(Set(faults.map(\.f)).isSuperset(of: ["crash", "hot_state_loss", "pause_process", "partition", "packet_loss"]))
            #expect(faults.allSatisfy { $0.int("end_ns") != nil && $0.string("error") == nil }, "\(faults.filter { $0.string("error") != nil })")
            let instances = Set(history.compactMap { $0.type == .invoke ? $0.string("via") : nil })
            #expect(instances.count == 3, "users spread over every instance: \(instances)")
            #expect(
                outcome.coverage.filter { $0.overlapped > 0 }.count * 2 >= outcome.coverage.count, "most faults hit operations: \(outcome.coverage)")
            for member in run.deployment.processes.map(\.name) {
                let rules = try LabCommand.run([
                    "/usr/sbin/ip", "netns", "exec", run.lab.namespace(member), "/usr/sbin/nft", "list", "table", "inet", "pulse_nemesis",
                ])
                #expect(!rules.contains("drop"), "every cut and loss of \(member) healed")
            }
        }
    }
}

extension RealFaultTests {
    /// `pulse sim --deploy` interrupted mid-run (SIGINT, as Ctrl-C) stops everything it started.
    @Test(
        "pulse sim --deploy stopped by Ctrl-C mid-run exits 130 and leaves no process, namespace or bridge of its run",
        .enabled(if: NetworkLab.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")))
    func interruptedRunCleansUp() async throws {
        let tools = DeploymentRunTests.tools()
        let directory = try DeploymentRunTests.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tools.pulse)
        process.currentDirectoryURL = DeploymentFileTests.root
        process.arguments = ["sim", "Deployments/scenarios/mix.yaml", "--deploy", "Deployments/pulse.yaml", "--deploy-dir", directory]
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-interrupted-\(getpid()).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        try process.run()
        let lab = "p\(String(process.processIdentifier, radix: 36))x"
        let up = await DeploymentRunTests.eventually(within: 120) {
            ((try? String(contentsOf: output, encoding: .utf8)) ?? "").contains("\nup: ")
        }
        #expect(up, "the deployment came up")
        #expect(try LabCommand.run(["/usr/sbin/ip", "netns", "list"]).contains("pulse-\(lab)"), "its namespaces exist while it runs")
        try await Task.sleep(for: .seconds(3))  // faults under way
        kill(process.processIdentifier, SIGINT)
        #expect(await DeploymentRunTests.eventually(within: 60) { !process.isRunning }, "it stops")
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(!(try LabCommand.run(["/usr/sbin/ip", "netns", "list"])).contains("pulse-\(lab)"), "its namespaces are gone")
        #expect(!(try LabCommand.run(["/usr/sbin/ip", "-o", "link", "show"])).contains("b\(lab)"), "its bridge is gone")
        // Its stores name the run's directory; its api instances, their address on the lab's subnet.
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        let subnet = text.range(of: "up: http://").map {
            String(text[$0.upperBound...].prefix { $0 != ":" }.split(separator: ".").prefix(3).joined(separator: "."))
        }
        for pattern in [directory, "--host \(subnet ?? "?")."] {
            let left = ((try? LabCommand.run(["/usr/bin/pgrep", "-f", "--", pattern])) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(left.isEmpty, "no process of the run is left (\(pattern)): \(left)")
        }
    }
}

extension RealFaultTests {
    /// The history of a run that broke something, kept under the temporary directory for a
    /// look (`pulse check FILE --html`); "" when nothing broke.
    static func keepIfBroken(_ outcome: RealFaultRun.Outcome) -> String {
        guard !outcome.wire.violations.isEmpty || !outcome.wire.linearizability.violations.isEmpty else { return "" }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pulse-real-fault-\(getpid())-\(outcome.wire.history.count).jsonl")
            .path
        let text = outcome.wire.history.map(HistoryReader.encode).joined(separator: "\n") + "\n"
        return (try? text.write(toFile: path, atomically: true, encoding: .utf8)) != nil ? path : "(not written)"
    }

    /// Instances crashing one after another while many users churn through holds: each crash
    /// sends its subscribers to another instance, which catches them up from their last seq.
    static func crashingInstances(seed: UInt64) -> SimConfiguration {
        var configuration = SimConfiguration(seed: seed).withoutFaults
        configuration.rows = 4
        configuration.cols = 10
        configuration.users = 16
        configuration.operationsPerUser = 12
        configuration.thinkMsMax = 300
        configuration.holdTTLSeconds = 2
        configuration.checkoutProbability = 0.5
        configuration.releaseProbability = 0.3
        configuration.extendProbability = 0.1
        configuration.subscribers = 3
        configuration.serverCrashAtMs = [1_000, 2_000, 3_000]
        configuration.serverDownMs = 300
        return configuration
    }

    /// `skip-replayed-change` passes any run in which no subscriber rejoins (plain wire mode
    /// against one server): only a real crash, and the rejoin it forces, shows it.
    @Test(
        "a known defect real crashes are built to show (a catch-up after a rejoin skips a change) is caught on the real deployment, and the correct one passes",
        .enabled(if: NetworkLab.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")),
        arguments: [nil, "skip-replayed-change"] as [String?])
    func crashShowsSkippedCatchUp(mutant: String?) async throws {
        try await DeploymentRunTests.with(try DeploymentFileTests.shipped("pulse.yaml"), tools: DeploymentRunTests.tools(mutant: mutant)) { run in
            let outcome = try await RealFaultRun.run(Self.crashingInstances(seed: 4), on: run, profile: .pulse, runID: "rc\(getpid())")
            let rejoins = outcome.wire.history.filter { $0.type == .fault && $0.f == "disconnect" }
            #expect(rejoins.count >= 3, "every crash sent a subscriber elsewhere")
            let broken = outcome.wire.violations.filter { $0.invariant == .broadcastOrder }
            if mutant == nil {
                #expect(outcome.wire.violations.isEmpty, "\(outcome.wire.violations.prefix(3)); history in \(Self.keepIfBroken(outcome))")
            } else {
                #expect(!broken.isEmpty, "a rejoined subscriber missed a change and nobody noticed")
            }
        }
    }
}

extension SimConfiguration {
    /// The configuration with every probabilistic fault off.
    fileprivate var withoutFaults: SimConfiguration {
        var copy = self
        copy.pauseProbability = 0
        return copy
    }
}

extension RealFaultTests {
    /// A server that is not Pulse and has no test control: the seed stand-in, whose admin comes
    /// from its database (an account), its lock TTL from its start (the seed's 600 s).
    @Test(
        "real-fault mode runs on a server that is not Pulse and has no test control (the seed stand-in, with its admin account): every pause stops it while operations are under way; without the account it says what it needs",
        .enabled(if: NetworkLab.isAvailable))
    func seedStandInUnderPauses() async throws {
        var configuration = SimConfiguration(seed: 3).withoutFaults
        configuration.rows = 2
        configuration.cols = 8
        configuration.users = 6
        // Users busy well past the second pause (3.75 s to 5.25 s): about 7 s of operations each.
        configuration.operationsPerUser = 14
        configuration.thinkMsMax = 1_000
        configuration.subscribers = 2
        configuration.checkoutProbability = 0.5
        configuration.pauseProbability = 0.01
        configuration.pauseMs = 1_500
        configuration.faultsUntilMs = 8_000
        try await DeploymentRunTests.with(try DeploymentFileTests.shipped("seed-standin.yaml")) { run in
            let refused = await #expect(throws: DeploymentRunError.self) {
                _ = try await RealFaultRun.run(configuration, on: run, profile: .socketio, runID: "sn\(getpid())")
            }
            #expect(refused.map { "\($0)".contains("--admin-email") } == true, "\(String(describing: refused))")
            let outcome = try await RealFaultRun.run(
                configuration, on: run, profile: .socketio, runID: "sp\(getpid())",
                admin: .init(email: "admin@seed.test", password: "admin-password"))
            let pauses = outcome.coverage.filter { $0.fault == "pause_process" }
            #expect(pauses.count == 2 && pauses.allSatisfy { $0.target == "seed" }, "\(outcome.coverage)")
            #expect(pauses.allSatisfy { $0.overlapped > 0 }, "each pause stopped the server mid-operation: \(pauses)")
            let history = outcome.wire.history
            #expect(history.contains { $0.type == .ok && $0.f == "hold" }, "locks were granted")
            #expect(history.contains { $0.type == .fault && $0.f == "pause_process" && $0.string("error") == nil })
        }
    }
}

extension RealFaultTests {
    /// Users racing for short holds on three instances while one instance's clock runs 3 s ahead
    /// and another's 3 s behind.
    static func steppedClocks(seed: UInt64) -> SimConfiguration {
        var configuration = SimConfiguration(seed: seed).withoutFaults
        configuration.rows = 2
        configuration.cols = 8
        configuration.users = 8
        configuration.operationsPerUser = 10
        configuration.thinkMsMax = 500
        configuration.holdTTLSeconds = 3
        configuration.subscribers = 2
        configuration.checkoutProbability = 0.3
        configuration.releaseProbability = 0.2
        configuration.extendProbability = 0.2
        configuration.clockJumps = [.init(atMs: 300, byMs: 3_000), .init(atMs: 600, byMs: -3_000)]
        configuration.faultsUntilMs = 8_000
        return configuration
    }

    /// Each instance's sweep expires holds; on each instance's own clock, the one 3 s ahead would
    /// expire every other instance's holds 3 s early (the defect `RedisClockTests.callerClock`
    /// shows on the store). On Redis's clock no expiry is early or late.
    @Test(
        "Pulse's instances keep every invariant and every seat linearizable while one instance's clock runs 3 s ahead and another's 3 s behind",
        .enabled(
            if: NetworkLab.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/redis-server")
                && Tools.installedLibfaketime() != nil))
    func pulseUnderClockSteps() async throws {
        let deployment = try DeploymentFileTests.shipped("pulse.yaml")
        let configuration = Self.steppedClocks(seed: 6)
        let plan = NemesisPlan.plan(configuration, deployment: deployment)
        #expect(plan.steppedClocks == ["api1", "api2"])
        try await DeploymentRunTests.with(deployment, steppedClocks: plan.steppedClocks) { run in
            let outcome = try await RealFaultRun.run(configuration, on: run, profile: .pulse, runID: "ck\(getpid())")
            let kept = Self.keepIfBroken(outcome)
            #expect(outcome.wire.violations.isEmpty, "\(outcome.wire.violations.prefix(3)); history in \(kept)")
            #expect(
                outcome.wire.linearizability.violations.isEmpty,
                "\(outcome.wire.linearizability.violations.prefix(3).map(\.explanation)); history in \(kept)")
            // Each hold's stated expiry minus its TTL falls between its request and its answer on
            // one clock: the holds agree on the server's time (an expiry on each instance's clock
            // would put api1's 3 s ahead and api2's 3 s behind, and the measure at the whole TTL).
            #expect(outcome.wire.clockSkewNs < 1_000_000_000, "holds stated on one clock: skew \(outcome.wire.clockSkewNs / 1_000_000) ms")
            let steps = outcome.coverage.filter { $0.fault == "clock_step" }
            #expect(steps.map(\.target).sorted() == ["api1", "api2"] && steps.allSatisfy { $0.overlapped > 0 }, "\(outcome.coverage)")
            let history = outcome.wire.history
            #expect(history.contains { $0.type == .fault && $0.f == "clock_step" && $0.string("error") == nil })
            #expect(
                history.contains { $0.type == .observe && $0.f == "seat_released" && $0.string("reason") == "expired" },
                "holds expired during the steps: the expiry checks had evidence")
        }
    }
}
