import Foundation
import PulseHistory

/// Carries out a ``NemesisPlan`` on a running deployment while the users run: each action begins
/// at its time, lasts its time and is healed (resumed, restarted, its rules removed), and is then
/// recorded as a `fault` of process `nemesis` with its `target` and `end_ns` (HISTORY.md). When
/// cancelled it heals what it did at once. A step that fails (a restart that never gets ready)
/// is recorded with its `error`, never thrown: the run goes on and its history says so.
public struct Nemesis: Sendable {
    public let run: DeploymentRun
    public let actions: [NemesisAction]

    public init(run: DeploymentRun, actions: [NemesisAction]) {
        self.run = run
        self.actions = actions
    }

    /// Does every action, each from its time after now; returns when all are healed.
    public func perform(record: @escaping @Sendable (_ f: String, _ startNs: Int64, _ value: [String: HistoryValue]) -> Void) async {
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            for action in actions {
                group.addTask {
                    try? await Task.sleep(until: started + .milliseconds(action.atMs))
                    await perform(action, record: record)
                }
            }
        }
        // What a step that failed half way may have left.
        try? run.lab.heal()
    }

    private func perform(_ action: NemesisAction, record: @Sendable (String, Int64, [String: HistoryValue]) -> Void) async {
        let startNs = Self.nowNs()
        var value: [String: HistoryValue] = [:]
        do {
            switch action.kind {
            case .pause(let name):
                value["target"] = .string(name)
                run.pause(name)
                try? await Task.sleep(for: .milliseconds(action.durationMs))
                run.resume(name)
            case .crash(let name):
                value["target"] = .string(name)
                await run.crash(name)
                try? await Task.sleep(for: .milliseconds(action.durationMs))
                try await restart(name)
            case .hotStateLoss(let name):
                value["target"] = .string(name)
                try await restart(name)
            case .partition(let one, let other):
                value["target"] = .string("\(Self.name(one))|\(Self.name(other))")
                let rules = [try run.lab.cut(from: one, to: other), try run.lab.cut(from: other, to: one)].compactMap { $0 }
                try? await Task.sleep(for: .milliseconds(action.durationMs))
                for rule in rules { try run.lab.remove(rule) }
            case .loss(let from, let to, let percent):
                value["target"] = .string("\(Self.name(from))>\(Self.name(to))")
                value["percent"] = .int(Int64(percent))
                let rule = try run.lab.lose(from: from, to: to, percent: percent)
                try? await Task.sleep(for: .milliseconds(action.durationMs))
                if let rule { try run.lab.remove(rule) }
            case .clockStep(let name, let byMs):
                value["target"] = .string(name)
                value["by_ms"] = .int(byMs)
                try run.stepClock(name, byMs: byMs)
                try? await Task.sleep(for: .milliseconds(action.durationMs))
                try run.stepClock(name, byMs: 0)
            }
        } catch {
            value["error"] = .string("\(error)")
        }
        value["end_ns"] = .int(Self.nowNs())
        record(Self.name(action.kind), startNs, value)
    }

    /// Restarts a process as a supervisor would: a process that exits before it is ready (a
    /// server that gives up when its database does not answer) is started again, once a second,
    /// for up to a minute (not once the nemesis is cancelled: the deployment is being stopped).
    /// Throws ``DeploymentRunError`` with the last failure.
    private func restart(_ name: String) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            do {
                return try await run.restart(name, readyWithin: .seconds(30))
            } catch  where ContinuousClock.now < deadline && !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The record name of an action (HISTORY.md).
    private static func name(_ kind: NemesisAction.Kind) -> String {
        switch kind {
        case .pause: "pause_process"
        case .crash: "crash"
        case .hotStateLoss: "hot_state_loss"
        case .partition: "partition"
        case .loss: "packet_loss"
        case .clockStep: "clock_step"
        }
    }

    private static func name(_ peer: NetworkLab.Peer) -> String {
        switch peer {
        case .clients: "clients"
        case .member(let name): name
        }
    }

    /// Wall-clock nanoseconds, the time wire-mode histories use.
    static func nowNs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000_000_000) }
}
