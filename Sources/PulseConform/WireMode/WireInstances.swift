import PulseHistory
import PulseWire
import Synchronization

/// An api instance of a deployment: a wire run spreads its users and subscribers over several.
public struct WireInstance: Sendable, Equatable {
    /// Its name in the history (`via` of each invoke).
    public var name: String
    /// `http://ADDRESS:PORT`.
    public var baseURL: String

    public init(name: String, baseURL: String) {
        self.name = name
        self.baseURL = baseURL
    }
}

/// What acts on the target's infrastructure while a wire run's users run (a nemesis). It records
/// each fault it made through `record` (its name, the time it began, its fields, `end_ns` among
/// them once healed) and returns when everything it did is healed.
public typealias WireNemesis =
    @Sendable (_ record: @escaping @Sendable (_ f: String, _ startNs: Int64, _ value: [String: HistoryValue]) -> Void)
    async -> Void

/// Which instance each client of a wire run talks to, as a load balancer that keeps a client on
/// one instance (sticky sessions) would: client `uN` starts on instance N mod count, and moves
/// to the next one when its instance does not answer (or answers 502/503), as a browser that
/// reloads behind the balancer would. With one instance every client stays on it.
final class WireRouting: Sendable {
    let contexts: [CaseContext]
    let names: [String]
    private let current = Mutex<[String: Int]>([:])

    init(contexts: [CaseContext], names: [String]) {
        self.contexts = contexts
        self.names = names
    }

    /// Whether the run has several instances (then each invoke says which one it went to).
    var spread: Bool { contexts.count > 1 }

    /// The client's instance: its context and name.
    func route(_ client: String) -> (context: CaseContext, name: String) {
        let index = current.withLock { $0[Self.base(client)] ?? Self.number(client) % contexts.count }
        return (contexts[index], names[index])
    }

    /// The client's instance did not answer: it moves to the next.
    func failed(_ client: String) {
        guard spread else { return }
        current.withLock { current in
            let key = Self.base(client)
            current[key] = ((current[key] ?? Self.number(client) % contexts.count) + 1) % contexts.count
        }
    }

    /// A client and its second tab (`u3/2`) share their instance.
    private static func base(_ client: String) -> String { String(client.split(separator: "/").first ?? "") }

    /// The number in a client's name (`u3` -> 3, `s1` -> 1).
    private static func number(_ client: String) -> Int { Int(base(client).drop { !$0.isNumber }) ?? 0 }
}
