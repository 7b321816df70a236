import ArgumentParser

/// `pulse`: the reference server and the tools around it.
@main
struct Pulse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pulse",
        abstract: "Pulse: a specification harness and reference server for real-time seat reservation.",
        discussion: """
            serve   runs the reference server of the Pulse Booking Protocol (SPEC.md) on the embedded
                    stores: an in-memory hot store and SQLite under --data-dir.
            admin   manages accounts in the durable store (create or promote an admin).
            sim     runs a scenario deterministically against the reference engine and checks it.
            check   checks a history file (HISTORY.md) against every invariant of the checker.
            bench   measures the reference server (live fan-out to many WebSocket subscribers).

            Each command's --help lists its flags and the environment variables that set them.
            """,
        subcommands: [Serve.self, Admin.self, Sim.self, Check.self, Bench.self])
}

/// Reads an environment variable (flags win over variables, variables over defaults).
func environment(_ name: String) -> String? {
    guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
    return value
}

import Foundation
