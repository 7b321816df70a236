import ArgumentParser
import Foundation

/// `pulse`: the reference server and the tools around it.
@main
struct Pulse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pulse",
        abstract: "Pulse: a specification harness and reference server for real-time seat reservation.",
        discussion: """
            serve    the reference server of SPEC.md (embedded stores, or Redis)
            admin    creates or promotes an admin in the durable store
            sim      runs a scenario deterministically, checks every invariant
            check    checks a history file (HISTORY.md) against the invariants
            conform  checks a live booking server against SPEC.md, clause by clause
            bench    flash sale against a Node peer, fan-out, holds, sim, checker
            deploy   starts a deployment (Deployments/pulse.yaml) in network namespaces

            Each command's --help lists its flags and environment variables.
            """,
        subcommands: [Serve.self, Admin.self, Sim.self, Check.self, Conform.self, Bench.self, Deploy.self])
}

/// Reads an environment variable (flags win over variables, variables over defaults).
func environment(_ name: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
}
