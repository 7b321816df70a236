import ArgumentParser
import Dispatch
import Foundation
import PulseDeploy
import PulseEngine
import PulseMutants
import Synchronization

/// `pulse deploy FILE`: a deployment up, each process in its own network namespace, until
/// SIGINT or SIGTERM.
struct Deploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Start a deployment (Deployments/pulse.yaml, Deployments/seed-standin.yaml, or your own) with each process in its own network namespace; stop it on SIGINT or SIGTERM.",
        discussion: """
            Starts the file's processes in order, each in a network namespace of its own joined to \
            this host by a bridge (10.77.X.0/24), each ready before the next starts, and prints the \
            address of each and the URL of every api instance: point `pulse conform --target` or \
            `pulse sim SCENARIO --target` at them. Logs and data go under --dir (DIR/logs/NAME.log). \
            On SIGINT or SIGTERM every process is stopped and the namespaces and the bridge removed; \
            namespaces left by a run that was killed are removed at the next start. Needs root, \
            iproute2 and nftables. Every api instance gets the same JWT secret (PULSE_JWT_SECRET, or \
            a random one), so a token of one is good at the others.
            """)

    @Argument(help: "The deployment file (YAML).") var file: String
    @Option(help: "Where the processes' logs and data go (default: a new directory under the system's temporary directory).") var dir: String?
    @Option(help: "Start every Pulse instance with this known defect (`pulse serve --mutant`).") var mutant: String?
    @Option(help: "SecantusDB's server, for {secantusd}.") var secantusd = ".build/py-venv/bin/secantusd-py"
    @Option(help: "A Python with python-socketio and aiohttp, for {python} (the seed stand-in).") var python = ".build/py-venv/bin/python"

    func run() async throws {
        let deployment = try Self.deployment(file, mutant: mutant)
        NetworkLab.removeAbandoned()
        let directory = dir ?? FileManager.default.temporaryDirectory.appendingPathComponent("pulse-deploy-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tools = Self.tools(secantusd: secantusd, python: python, mutant: mutant)
        let stop = Self.stopSignal()
        print("starting \(deployment.name): \(deployment.processes.map(\.name).joined(separator: ", ")) (logs in \(directory)/logs)")
        let run = try await DeploymentRun.start(deployment, tools: tools, directory: directory)
        for process in deployment.processes {
            print(
                "  \(process.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(process.role.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)) \(run.address(of: process.name) ?? "?"):\(process.port) (namespace \(run.lab.namespace(process.name)))"
            )
        }
        for url in run.apiURLs { print("api: \(url)") }
        print("up; SIGINT or SIGTERM stops it")
        await stop.value
        print("stopping \(deployment.name)")
        await run.stop()
    }

    /// The tools a deployment's placeholders name: this binary, the repository it runs in (the
    /// current directory), SecantusDB and Python as given (relative to it), and one JWT secret
    /// (PULSE_JWT_SECRET, or a random one).
    static func tools(secantusd: String, python: String, mutant: String?) -> Tools {
        let here = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : "\(here)/\(path)" }
        return Tools(
            root: here, pulse: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? absolute(CommandLine.arguments[0]),
            secantusd: absolute(secantusd), python: absolute(python),
            jwtSecret: environment("PULSE_JWT_SECRET") ?? SecureIdentifierSource().hex(bytes: 32), mutant: mutant)
    }

    /// Reads and checks a deployment file and the mutant for it. Throws `ValidationError`.
    static func deployment(_ file: String, mutant: String?) throws -> Deployment {
        guard NetworkLab.isAvailable else { throw ValidationError("a deployment needs root, iproute2 (ip) and nftables (nft)") }
        if let mutant, Mutant(rawValue: mutant) == nil {
            throw ValidationError("unknown mutant '\(mutant)'; one of \(Mutant.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file)") }
        do { return try Deployment.parse(text) } catch let error as DeploymentError { throw ValidationError("\(file): \(error)") }
    }

    /// A task that ends at the first SIGINT or SIGTERM (which no longer end the process).
    static func stopSignal() -> Task<Void, Never> {
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: number, queue: .global())
        }
        return Task {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumed = Mutex(false)
                for source in sources {
                    source.setEventHandler {
                        let first = resumed.withLock { done in
                            defer { done = true }
                            return !done
                        }
                        if first { continuation.resume() }
                    }
                    source.resume()
                }
            }
            for source in sources { source.cancel() }
        }
    }
}
