import Foundation
import PulseScenario

/// A system under test described once: its processes, how to start each and how each shows it is
/// ready. Each process runs in a network namespace of its own (``NetworkLab``), so the links
/// between processes, and between the harness's clients and the api instances, can be cut.
public struct Deployment: Sendable, Equatable {
    /// What a process is to the system: the harness's clients reach the `api` instances; a fault
    /// schedule names the stores by their role.
    public enum Role: String, Sendable, CaseIterable {
        case api
        case hotStore = "hot_store"
        case durableStore = "durable_store"
        case other
    }

    public struct Process: Sendable, Equatable {
        /// `[a-z][a-z0-9]{0,11}`: it names the namespace, the log and the data directory.
        public var name: String
        public var role: Role
        /// The port it listens on, at its own address.
        public var port: Int
        /// A shell command with placeholders (see ``Deployment/placeholders``).
        public var command: String
        /// An HTTP path that answers 200 once it is ready (`/readyz`); nil: ready once its port
        /// takes connections.
        public var readyPath: String?
    }

    public var name: String
    public var description: String
    /// In start order (stores first); stopped in reverse.
    public var processes: [Process]

    /// The api instances, in start order.
    public var apis: [Process] { processes.filter { $0.role == .api } }

    /// The placeholders a command may use besides `{NAME.address}` and `{NAME.port}` of any
    /// process of the file: the process's own address, port and data directory, and the tools
    /// the harness supplies (``Tools``).
    public static let placeholders: Set<String> = ["address", "port", "data", "root", "pulse", "secantusd", "python", "jwt_secret", "mutant_flag"]

    public func process(_ name: String) -> Process? { processes.first { $0.name == name } }

    /// Reads a deployment file strictly: every field known, every placeholder one the harness
    /// fills. Throws ``DeploymentError`` naming the line and the field.
    public static func parse(_ text: String) throws -> Deployment {
        do {
            var reader = try MappingReader(document: text)
            let name = try reader.string("name")
            let description = try reader.optionalString("description") ?? ""
            guard let entries = try reader.mappings("processes"), !entries.isEmpty else {
                throw DeploymentError(line: reader.line(of: "processes"), field: "processes", problem: "expected a list of processes")
            }
            var processes: [Process] = []
            for var entry in entries {
                let process = try Process(&entry)
                guard !processes.contains(where: { $0.name == process.name }) else {
                    throw DeploymentError(line: entry.line(of: "name"), field: "\(entry.path).name", problem: "\(process.name) is named twice")
                }
                processes.append(process)
                try entry.finish()
            }
            try reader.finish()
            let deployment = Deployment(name: name, description: description, processes: processes)
            guard !deployment.apis.isEmpty else {
                throw DeploymentError(line: reader.line(of: "processes"), field: "processes", problem: "no process has the role api")
            }
            for (position, process) in processes.enumerated() {
                for placeholder in Self.placeholders(in: process.command) where !deployment.knows(placeholder) {
                    throw DeploymentError(
                        line: entries[position].line(of: "command"), field: "processes[\(position)].command",
                        problem:
                            "unknown placeholder {\(placeholder)}: one of \(Self.placeholders.sorted().map { "{\($0)}" }.joined(separator: " ")) "
                            + "or {NAME.address} {NAME.port} of a process of this file")
                }
            }
            return deployment
        } catch let error as ScenarioError {
            throw DeploymentError(line: error.line, field: error.field, problem: error.problem)
        }
    }

    private func knows(_ placeholder: String) -> Bool {
        if Self.placeholders.contains(placeholder) { return true }
        let parts = placeholder.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && ["address", "port"].contains(parts[1]) && process(String(parts[0])) != nil
    }

    /// The names between braces in `command`, in order.
    static func placeholders(in command: String) -> [String] {
        var found: [String] = []
        var rest = command[...]
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            found.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return found
    }

    /// The command of `process` with every placeholder filled: `addresses` of every process,
    /// its data directory, the tools.
    public func command(of process: Process, addresses: [String: String], data: String, tools: Tools) -> String {
        var values: [String: String] = [
            "address": addresses[process.name] ?? "", "port": String(process.port), "data": data, "root": tools.root, "pulse": tools.pulse,
            "secantusd": tools.secantusd, "python": tools.python, "jwt_secret": tools.jwtSecret,
            "mutant_flag": tools.mutant.map { "--mutant \($0)" } ?? "",
        ]
        for other in processes {
            values["\(other.name).address"] = addresses[other.name] ?? ""
            values["\(other.name).port"] = String(other.port)
        }
        var command = process.command
        for placeholder in Self.placeholders(in: process.command) {
            command = command.replacingOccurrences(of: "{\(placeholder)}", with: values[placeholder] ?? "")
        }
        return command
    }
}

extension Deployment.Process {
    fileprivate init(_ entry: inout MappingReader) throws {
        name = try entry.string("name")
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first), name.count <= 12,
            name.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) })
        else {
            throw DeploymentError(line: entry.line(of: "name"), field: "\(entry.path).name", problem: "\(name): expected [a-z][a-z0-9]{0,11}")
        }
        let roleName = try entry.string("role")
        guard let role = Deployment.Role(rawValue: roleName) else {
            throw DeploymentError(
                line: entry.line(of: "role"), field: "\(entry.path).role",
                problem: "\(roleName): one of \(Deployment.Role.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.role = role
        port = try entry.int("port", 1...65535, required: true)
        command = try entry.string("command")
        readyPath = try entry.optionalString("ready_http")
        if let readyPath, !readyPath.hasPrefix("/") {
            throw DeploymentError(line: entry.line(of: "ready_http"), field: "\(entry.path).ready_http", problem: "expected a path such as /readyz")
        }
    }
}

/// Why a deployment file cannot be used; names the line and the field.
public struct DeploymentError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var field: String
    public var problem: String
    public var description: String { "line \(line): \(field): \(problem)" }

    public init(line: Int, field: String, problem: String) {
        self.line = line
        self.field = field
        self.problem = problem
    }
}

/// What the harness fills a deployment's commands with.
public struct Tools: Sendable {
    /// The Pulse repository (its scripts and the seed stand-in).
    public var root: String
    /// The `pulse` binary.
    public var pulse: String
    /// SecantusDB's server (`secantusd-py`), a MongoDB-protocol store.
    public var secantusd: String
    /// A Python with python-socketio and aiohttp (the seed stand-in).
    public var python: String
    /// The JWT secret every api instance shares, so a token of one is good at the others.
    public var jwtSecret: String
    /// A known defect (`pulse serve --mutant`), for every Pulse instance; nil: none.
    public var mutant: String?
    /// libfaketime (Debian's faketime package), which steps a process's clock; nil: not installed.
    public var libfaketime: String?

    public init(
        root: String, pulse: String, secantusd: String, python: String, jwtSecret: String, mutant: String? = nil,
        libfaketime: String? = Tools.installedLibfaketime()
    ) {
        self.root = root
        self.pulse = pulse
        self.secantusd = secantusd
        self.python = python
        self.jwtSecret = jwtSecret
        self.mutant = mutant
        self.libfaketime = libfaketime
    }

    /// Where Debian installs libfaketime on this machine's architecture, if it does.
    public static func installedLibfaketime() -> String? {
        ["x86_64-linux-gnu", "aarch64-linux-gnu"].map { "/usr/lib/\($0)/faketime/libfaketime.so.1" }
            .first { FileManager.default.fileExists(atPath: $0) }
    }
}
