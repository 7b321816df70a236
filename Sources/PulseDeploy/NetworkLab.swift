import Foundation
import Synchronization

/// Network namespaces joined by one bridge: one namespace per process of a deployment, each with
/// its own address on `10.77.X.0/24`, the host (where the harness's clients run) at `10.77.X.1`.
/// Faults between them are nftables rules inside the namespaces (table `inet pulse_nemesis`):
/// a link cut one way or both, packets lost at random (`numgen random`), all healed at once.
///
/// Needs root, `ip` (iproute2) and `nft` (nftables). Every name it makes carries the lab's id
/// (`p<pid in base 36>x<n>`), and ``tearDown()`` removes them by those names; a lab left by a
/// process that died is removed by ``removeAbandoned()``.
public final class NetworkLab: Sendable {
    /// `p<pid in base 36>x<n>`: unique on the host while this process lives.
    public let id: String
    /// The bridge, `b<id>`.
    public let bridge: String
    /// The host's address on the bridge: what the members see the harness's clients come from.
    public let hostAddress: String
    private let subnet: Int
    private let members = Mutex<[(name: String, address: String)]>([])

    private static let created = Mutex(0)

    /// Whether this machine can make labs: root, `ip` and `nft`.
    public static var isAvailable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft")
    }

    /// Makes the bridge on a `10.77.X.0/24` no address of this host uses yet. Throws
    /// ``LabCommandError`` when a command fails (not root, no iproute2).
    public init() throws {
        let count = Self.created.withLock {
            $0 += 1
            return $0
        }
        id = "p\(String(getpid(), radix: 36))x\(count)"
        bridge = "b\(id)"
        let used = try LabCommand.run(["/usr/sbin/ip", "-o", "-4", "addr", "show"])
        guard let free = (1...254).first(where: { !used.contains(" 10.77.\($0).") }) else {
            throw LabCommandError(command: "ip addr", status: 0, output: "every 10.77.X.0/24 is in use on this host")
        }
        subnet = free
        hostAddress = "10.77.\(free).1"
        try LabCommand.run(["/usr/sbin/ip", "link", "add", bridge, "type", "bridge"])
        try LabCommand.run(["/usr/sbin/ip", "addr", "add", "\(hostAddress)/24", "dev", bridge])
        try LabCommand.run(["/usr/sbin/ip", "link", "set", bridge, "up"])
    }

    /// The namespace of member `name`.
    public func namespace(_ name: String) -> String { "pulse-\(id)-\(name)" }

    /// The address of member `name`, if it is one.
    public func address(_ name: String) -> String? { members.withLock { $0.first { $0.name == name }?.address } }

    /// Adds a member: its namespace, a veth pair to the bridge, its address (returned), loopback
    /// up and an empty nemesis table. Throws ``LabCommandError``.
    @discardableResult
    public func add(_ name: String) throws -> String {
        let (address, index) = members.withLock { members -> (String, Int) in
            let address = "10.77.\(subnet).\(members.count + 2)"
            members.append((name, address))
            return (address, members.count)
        }
        let namespace = namespace(name)
        let veth = "v\(id)m\(index)"
        try LabCommand.run(["/usr/sbin/ip", "netns", "add", namespace])
        try LabCommand.run(["/usr/sbin/ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", namespace])
        try LabCommand.run(["/usr/sbin/ip", "link", "set", veth, "master", bridge, "up"])
        try LabCommand.run(["/usr/sbin/ip", "-n", namespace, "addr", "add", "\(address)/24", "dev", "eth0"])
        try LabCommand.run(["/usr/sbin/ip", "-n", namespace, "link", "set", "eth0", "up"])
        try LabCommand.run(["/usr/sbin/ip", "-n", namespace, "link", "set", "lo", "up"])
        try resetRules(in: namespace)
        return address
    }

    /// Who a fault is between: a member, or the harness's clients (the host).
    public enum Peer: Sendable, Equatable {
        case member(String)
        case clients
    }

    /// Drops every packet `from` sends to `to` (one way: what `to` sends still arrives, though a
    /// TCP connection either way then fails, its answers from `from` lost). Throws
    /// ``LabCommandError``.
    @discardableResult
    public func cut(from: Peer, to: Peer) throws -> Rule? { try drop(from: from, to: to, percent: 100) }

    /// Drops `percent` of the packets `from` sends to `to`, each at random. Throws ``LabCommandError``.
    @discardableResult
    public func lose(from: Peer, to: Peer, percent: Int) throws -> Rule? { try drop(from: from, to: to, percent: percent) }

    /// One rule of a cut or a loss, to remove on its own (others stay).
    public struct Rule: Sendable, Equatable {
        public var namespace: String
        public var chain: String
        public var handle: Int
    }

    /// Removes one rule; the others stay. Throws ``LabCommandError``.
    public func remove(_ rule: Rule) throws {
        try LabCommand.run(
            [
                "/usr/sbin/ip", "netns", "exec", rule.namespace, "/usr/sbin/nft", "delete", "rule", "inet", "pulse_nemesis", rule.chain, "handle",
                "\(rule.handle)",
            ])
    }

    /// Removes every cut and loss. Throws ``LabCommandError``.
    public func heal() throws {
        for member in members.withLock({ $0 }) { try resetRules(in: namespace(member.name)) }
    }

    private func drop(from: Peer, to: Peer, percent: Int) throws -> Rule? {
        let target: String
        switch to {
        case .clients: target = hostAddress
        case .member(let name): target = try memberAddress(name)
        }
        let condition = percent >= 100 ? [] : ["numgen", "random", "mod", "100", "<", String(max(0, percent))]
        let namespace: String
        let rule: [String]
        switch from {
        case .member(let name):
            _ = try memberAddress(name)
            namespace = self.namespace(name)
            rule = ["out", "ip", "daddr", target]
        case .clients:
            // The host's packets are dropped where they arrive: at the member's input.
            guard case .member(let name) = to else { return nil }
            namespace = self.namespace(name)
            rule = ["in", "ip", "saddr", hostAddress]
        }
        // `--echo --handle` prints the rule back with its handle, by which it is removed alone.
        let echoed = try LabCommand.run(
            ["/usr/sbin/ip", "netns", "exec", namespace, "/usr/sbin/nft", "--echo", "--handle", "add", "rule", "inet", "pulse_nemesis"] + rule
                + condition + ["drop"])
        guard let mark = echoed.range(of: "# handle "), let handle = Int(echoed[mark.upperBound...].prefix { $0.isNumber }) else {
            throw LabCommandError(command: "nft add rule", status: 0, output: "no handle in: \(echoed)")
        }
        return Rule(namespace: namespace, chain: rule[0], handle: handle)
    }

    private func memberAddress(_ name: String) throws -> String {
        guard let address = address(name) else {
            throw LabCommandError(command: "nemesis", status: 0, output: "\(name) is not a member of lab \(id)")
        }
        return address
    }

    private func resetRules(in namespace: String) throws {
        // `delete` fails when the table is absent (a fresh namespace): a table is added first.
        let ruleset = """
            table inet pulse_nemesis {}
            delete table inet pulse_nemesis
            table inet pulse_nemesis {
                chain out { type filter hook output priority 0; }
                chain in { type filter hook input priority 0; }
            }
            """
        try LabCommand.run(["/usr/sbin/ip", "netns", "exec", namespace, "/usr/sbin/nft", "-f", "-"], input: ruleset)
    }

    /// Kills every process still in the members' namespaces, then deletes the namespaces, their
    /// veths and the bridge. Never throws: what it cannot remove, it leaves (and says on stderr).
    public func tearDown() {
        for member in members.withLock({ $0 }) { Self.remove(namespace: namespace(member.name)) }
        _ = try? LabCommand.run(["/usr/sbin/ip", "link", "del", bridge])
    }

    private static func remove(namespace: String) {
        let pids = (try? LabCommand.run(["/usr/sbin/ip", "netns", "pids", namespace])) ?? ""
        for pid in pids.split(whereSeparator: \.isWhitespace).compactMap({ pid_t($0) }) { kill(pid, SIGKILL) }
        do { try LabCommand.run(["/usr/sbin/ip", "netns", "del", namespace]) } catch {
            FileHandle.standardError.write(Data("pulse: could not remove namespace \(namespace): \(error)\n".utf8))
        }
    }

    /// Removes the namespaces and bridges of labs whose process is gone (`pulse-p<pid>x<n>-*`, `bp<pid>x<n>`).
    public static func removeAbandoned() {
        func owner(_ id: Substring) -> pid_t? {
            guard id.hasPrefix("p"), let cut = id.firstIndex(of: "x") else { return nil }
            return Int32(id[id.index(after: id.startIndex)..<cut], radix: 36)
        }
        func gone(_ pid: pid_t) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }
        for line in ((try? LabCommand.run(["/usr/sbin/ip", "netns", "list"])) ?? "").split(separator: "\n") {
            let name = line.split(separator: " ").first ?? ""
            guard name.hasPrefix("pulse-"), let id = name.dropFirst(6).split(separator: "-").first, let pid = owner(id), gone(pid) else { continue }
            remove(namespace: String(name))
        }
        for line in ((try? LabCommand.run(["/usr/sbin/ip", "-o", "link", "show", "type", "bridge"])) ?? "").split(separator: "\n") {
            let fields = line.split(separator: ":")
            guard fields.count > 1 else { continue }
            let name = fields[1].trimmingCharacters(in: .whitespaces)
            guard name.hasPrefix("bp"), let pid = owner(name.dropFirst()[...]), gone(pid) else { continue }
            _ = try? LabCommand.run(["/usr/sbin/ip", "link", "del", name])
        }
    }
}

/// A command of the lab (`ip`, `nft`) that failed: what it said.
public struct LabCommandError: Error, CustomStringConvertible {
    public var command: String
    public var status: Int32
    public var output: String
    public var description: String { "\(command) exited \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
}

/// Runs a short command and waits for it.
enum LabCommand {
    /// Its standard output. Throws ``LabCommandError`` with its standard error when it fails.
    @discardableResult
    static func run(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let stdin = Pipe()
        if input != nil { process.standardInput = stdin }
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw LabCommandError(command: arguments.joined(separator: " "), status: process.terminationStatus, output: problem + text)
        }
        return text
    }
}
