import ArgumentParser

/// `pulse`: the reference server and the tools around it.
@main
struct Pulse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pulse",
        abstract: "Pulse: a specification harness and reference server for real-time seat reservation.",
        discussion: """
            serve  the reference server (SPEC.md): in-memory hot state and SQLite,
                   or hot state in Redis with --redis.
            admin  creates or promotes an admin in the durable store.
            sim    runs a scenario deterministically and checks every invariant.
            check  checks a history file (HISTORY.md) against the invariants.
            bench  measures the server: live fan-out, holds into Redis.

            Each command's --help lists its flags and environment variables.
            """,
        subcommands: [Serve.self, Admin.self, Sim.self, Check.self, Conform.self, Bench.self])
}

/// Reads an environment variable (flags win over variables, variables over defaults).
func environment(_ name: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
}

import Foundation
