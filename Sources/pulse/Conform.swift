import ArgumentParser
import Foundation
import PulseConform
import PulseEngine
import PulseReference

/// `pulse conform`: runs the conformance catalogue against a live server and grades it.
struct Conform: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a live booking server against the Pulse Booking Protocol (SPEC.md) and grade every clause.",
        discussion: """
            Each case cites the SPEC.md clause it tests and is graded OK, NON-STRICT (a SHOULD \
            missed), FAILED (a MUST missed), UNIMPLEMENTED (needs a capability the target does not \
            offer), INCONCLUSIVE (the evidence decides nothing: the target rate-limited the \
            suite's own pace beyond what it waits, or a race came too late every round) or \
            INFORMATIONAL. The suite is a polite client: it waits out a 429's Retry-After and \
            sends the request again, up to 30 s per case. A target started with the test-control profile (SPEC.md §14; \
            `pulse serve --test-control`) gets every case; without it, give --admin-email and \
            --admin-password for the cases that create events. Exit status 0 only when no MUST case \
            failed.
            """)

    @Option(help: "The server's root URL.") var target: String = "http://127.0.0.1:5000"
    @Option(help: "pulse (the Pulse Booking Protocol) or socketio (a seed-style server: its REST routes, live updates over Socket.IO 4).")
    var profile: String = "pulse"
    @Option(help: "Run only the cases whose clause (or id) starts with this, e.g. PB-HOLD or PB-LIVE-7.") var only: String?
    @Option(help: "Write JUnit XML here.") var junit: String?
    @Option(help: "Write the JSON report here.") var json: String?
    @Option(help: "Write the HTML report here.") var html: String?
    @Option(help: "Write a Markdown summary here (for a CI job's page, e.g. $GITHUB_STEP_SUMMARY): totals, a row per clause, the failures' evidence.")
    var summary: String?
    @Flag(help: "Print GitHub Actions annotations (::error for FAILED, ::warning for NON-STRICT); on by itself when GITHUB_ACTIONS is true.")
    var githubAnnotations = false
    @Option(help: "Admin email on a target without test control.") var adminEmail: String?
    @Option(help: "Admin password (or PULSE_ADMIN_PASSWORD).") var adminPassword: String?
    @Option(help: "Cases run at once.") var concurrency: Int = 4
    @Option(
        help: ArgumentHelp(
            "The target's lock (hold) TTL in seconds, for a target that cannot say (a seed-style server: LOCK_TTL).",
            discussion: "The seed races that need an expiry run only when it is 1...5 s; start the target with such a TTL to see them."))
    var targetHoldTtl: Double?
    @Option(
        help: ArgumentHelp(
            "A shell command that restarts the target: kill it hard and start it on the same stores.",
            discussion: "Unlocks the durability case (an acknowledged booking survives a crash); it runs last."))
    var restartCommand: String?
    @Flag(help: "List the catalogue and exit.") var list = false
    @Flag(help: "Print which cases test each clause of SPEC.md (a Markdown table) and exit.") var coverage = false
    @Option(help: "SPEC.md, for --coverage.") var spec: String = "SPEC.md"

    func run() async throws {
        if coverage {
            guard let text = try? String(contentsOfFile: spec, encoding: .utf8) else {
                throw ValidationError("cannot read \(spec) (give --spec PATH)")
            }
            print(ClauseCoverage(spec: text).document, terminator: "")
            return
        }
        if list {
            for testCase in Catalogue.all + Catalogue.cases(profile: .socketio).filter({ !Catalogue.all.map(\.id).contains($0.id) }) {
                print(
                    "\(testCase.clause.padding(toLength: 15, withPad: " ", startingAt: 0)) \(testCase.requirement.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) "
                        + "\(testCase.id.padding(toLength: 34, withPad: " ", startingAt: 0)) \(testCase.title)")
            }
            print("\(Catalogue.all.count) cases in the pulse profile; the socketio profile runs \(Catalogue.cases(profile: .socketio).count)")
            return
        }
        guard let chosenProfile = Profile(rawValue: profile) else { throw ValidationError("unknown profile '\(profile)'; pulse or socketio") }
        guard (1...32).contains(concurrency) else { throw ValidationError("--concurrency must be 1...32") }
        let cases = Catalogue.cases(profile: chosenProfile, clausePrefix: only)
        guard !cases.isEmpty else { throw ValidationError("no case matches '\(only ?? "")'") }
        if let targetHoldTtl, !(0.1...86_400).contains(targetHoldTtl) { throw ValidationError("--target-hold-ttl must be 0.1...86400 seconds") }
        let runner = ConformanceRunner(
            baseURL: target, runID: SecureIdentifierSource().hex(bytes: 4), profile: chosenProfile, adminEmail: adminEmail,
            adminPassword: adminPassword ?? ProcessInfo.processInfo.environment["PULSE_ADMIN_PASSWORD"],
            holdTTLSeconds: targetHoldTtl)
        var configured = runner
        configured.concurrency = concurrency
        configured.restartCommand = restartCommand
        let report: ConformanceReport
        do {
            report = try await configured.run(cases) { result in
                FileHandle.standardError.write(
                    Data("  \(result.grade.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0))\(result.id)\n".utf8))
            }
        } catch {
            throw ValidationError("cannot reach \(target): \(error)")
        }
        print(report.consoleText(), terminator: "")
        if let junit { try report.junitXML().write(toFile: junit, atomically: true, encoding: .utf8) }
        if let json { try report.jsonData().write(to: URL(fileURLWithPath: json)) }
        if let html { try report.html().write(toFile: html, atomically: true, encoding: .utf8) }
        if let summary { try report.markdownSummary().write(toFile: summary, atomically: true, encoding: .utf8) }
        if githubAnnotations || ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true" { print(report.githubAnnotations(), terminator: "") }
        if !report.passed { throw ExitCode(1) }
    }
}
