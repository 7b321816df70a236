/// A Redis Cluster redirection: the error reply `MOVED slot host:port` (the slot lives elsewhere
/// now: update the slot map and retry there) or `ASK slot host:port` (the slot is migrating: send
/// `ASKING` and retry once there, map unchanged).
public struct ClusterRedirect: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case moved = "MOVED"
        case ask = "ASK"
    }

    public var kind: Kind
    public var slot: Int
    public var host: String
    public var port: Int

    public init(kind: Kind, slot: Int, host: String, port: Int) {
        self.kind = kind
        self.slot = slot
        self.host = host
        self.port = port
    }

    /// Reads an error reply's text; nil when it is no redirection. The address's last colon
    /// separates the port (an IPv6 host has colons of its own); an empty host (a node that does
    /// not know its own address) stays empty: the caller keeps the host it asked.
    public init?(_ message: String) {
        let words = message.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 3, let kind = Kind(rawValue: String(words[0])), let slot = Int(words[1]),
            (0..<ClusterKeySlot.count).contains(slot), let colon = words[2].lastIndex(of: ":"),
            let port = Int(words[2][words[2].index(after: colon)...]), (1...65_535).contains(port)
        else { return nil }
        self.init(kind: kind, slot: slot, host: String(words[2][..<colon]), port: port)
    }
}
