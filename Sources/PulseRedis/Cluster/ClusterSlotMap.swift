/// Which master serves each of a Redis Cluster's 16,384 slots, read from `CLUSTER SHARDS`
/// (Redis 7) and kept current by `MOVED` redirections.
public struct ClusterSlotMap: Sendable, Equatable {
    /// A node as the cluster names it.
    public struct Node: Sendable, Hashable {
        public var id: String
        public var host: String
        public var port: Int
    }

    /// Every master that serves at least one slot, in the order the reply names them.
    public private(set) var masters: [Node]
    /// For each slot, its master's position in `masters`; -1 for a slot nobody serves.
    private var owners: [Int16]

    /// Reads a `CLUSTER SHARDS` reply (RESP2: each shard a flat list of field names and values;
    /// `slots` a flat list of range starts and ends; `nodes` each a flat list of fields). Throws
    /// ``RedisError/protocolError`` when the reply is not that shape or a range is out of bounds.
    /// A shard whose master is not `online` serves nothing (its slots answer `CLUSTERDOWN`).
    public init(shards reply: RESPValue) throws {
        guard let shards = reply.array else { throw RedisError.protocolError("CLUSTER SHARDS: not an array") }
        masters = []
        owners = [Int16](repeating: -1, count: ClusterKeySlot.count)
        for shard in shards {
            let fields = try Self.fields(shard)
            guard let bounds = fields["slots"]?.array?.compactMap(\.int), bounds.count % 2 == 0, let nodes = fields["nodes"]?.array else {
                throw RedisError.protocolError("CLUSTER SHARDS: a shard without slots or nodes")
            }
            let master = try nodes.map(Self.fields).first { $0["role"]?.string == "master" }
            guard let master, !bounds.isEmpty, (master["health"]?.string ?? "online") == "online" else { continue }
            guard let id = master["id"]?.string, let port = master["port"]?.int,
                let host = master["endpoint"]?.string ?? master["ip"]?.string
            else { throw RedisError.protocolError("CLUSTER SHARDS: a master without id, address or port") }
            let position = Int16(masters.count)
            masters.append(Node(id: id, host: host, port: Int(port)))
            for range in stride(from: 0, to: bounds.count, by: 2) {
                guard 0 <= bounds[range], bounds[range] <= bounds[range + 1], bounds[range + 1] < Int64(ClusterKeySlot.count) else {
                    throw RedisError.protocolError("CLUSTER SHARDS: slots \(bounds[range])-\(bounds[range + 1])")
                }
                for slot in Int(bounds[range])...Int(bounds[range + 1]) { owners[slot] = position }
            }
        }
    }

    /// The master serving `slot`; nil when none does.
    public func master(ofSlot slot: Int) -> Node? {
        let owner = owners[slot]
        return owner < 0 ? nil : masters[Int(owner)]
    }

    /// Whether every slot has a master.
    public var coversEverySlot: Bool { !owners.contains(-1) }

    /// Records a `MOVED` redirection: `slot` is served by the node at `host:port` (a node the
    /// map does not know yet joins it, with an unknown id until the next refresh).
    public mutating func apply(_ redirect: ClusterRedirect) {
        guard redirect.kind == .moved else { return }
        if let known = masters.firstIndex(where: { $0.host == redirect.host && $0.port == redirect.port }) {
            owners[redirect.slot] = Int16(known)
        } else {
            masters.append(Node(id: "", host: redirect.host, port: redirect.port))
            owners[redirect.slot] = Int16(masters.count - 1)
        }
    }

    /// A flat list of alternating names and values as a dictionary.
    private static func fields(_ value: RESPValue) throws -> [String: RESPValue] {
        guard let list = value.array, list.count % 2 == 0 else { throw RedisError.protocolError("CLUSTER SHARDS: not a list of fields") }
        var fields: [String: RESPValue] = [:]
        for position in stride(from: 0, to: list.count, by: 2) {
            guard let name = list[position].string else { throw RedisError.protocolError("CLUSTER SHARDS: a field without a name") }
            fields[name] = list[position + 1]
        }
        return fields
    }
}
