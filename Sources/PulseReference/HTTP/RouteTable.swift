import Hummingbird
import Synchronization

/// The router's paths and the methods each answers, for 405 `Allow` (PB-ERR-2): filled once the
/// router is built, read by ``ErrorMiddleware`` when a request matched no route.
final class RouteTable: Sendable {
    /// One registered path: its segments (nil for a `:parameter`) and its methods.
    private struct Entry {
        var segments: [Substring?]
        var methods: Set<String>
    }

    private let entries = Mutex<[Entry]>([])

    /// Takes every (path, method) the router has.
    func load(_ routes: [(path: String, method: String)]) {
        var byPath: [String: Set<String>] = [:]
        for route in routes { byPath[route.path, default: []].insert(route.method) }
        let made = byPath.keys.sorted().map { path in
            Entry(segments: Self.segments(path).map { $0.hasPrefix(":") || $0.hasPrefix("{") ? nil : $0 }, methods: byPath[path]!)
        }
        entries.withLock { $0 = made }
    }

    /// The methods `path` answers, sorted; empty when no route has this path.
    func methods(for path: String) -> [String] {
        let wanted = Self.segments(path)
        let found = entries.withLock { entries in
            entries.filter { entry in
                entry.segments.count == wanted.count
                    && zip(entry.segments, wanted).allSatisfy { pattern, segment in pattern == nil || pattern == segment }
            }.reduce(into: Set<String>()) { $0.formUnion($1.methods) }
        }
        return found.sorted()
    }

    private static func segments(_ path: String) -> [Substring] { path.split(separator: "/", omittingEmptySubsequences: true) }
}
