import Synchronization

/// A dictionary under a lock that never grows past `capacity` entries: when full, it starts again
/// empty (the cheapest eviction; a cache here only saves a read, it is never the truth). Nothing
/// ever iterates it, so its hash order cannot leak into results.
public final class BoundedCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    public let capacity: Int
    private let entries: Mutex<[Key: Value]>

    public init(capacity: Int) {
        precondition(capacity > 0, "a cache holds at least one entry")
        self.capacity = capacity
        entries = Mutex([:])
    }

    public subscript(key: Key) -> Value? { entries.withLock { $0[key] } }

    public func store(_ value: Value, for key: Key) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = value
        }
    }

    public func remove(_ key: Key) { _ = entries.withLock { $0.removeValue(forKey: key) } }
}
