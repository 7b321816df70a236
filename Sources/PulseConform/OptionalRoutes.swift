/// The routes SPEC.md makes optional (a SHOULD or a MAY), each with its clause. A MUST case may
/// read through one of them only as a convenience: when the target lacks it, the case cannot run
/// (UNIMPLEMENTED), and that is never a failure of the MUST clause it checks. A test keeps this
/// list equal to the optional routes SPEC.md's clause headings name.
public enum OptionalRoutes {
    /// One optional route: `GET /api/v1/users/me`, with `:name` standing for one path segment.
    public struct Route: Sendable, Equatable, CustomStringConvertible {
        public var method: String
        public var template: String
        public var clause: String
        /// `SHOULD` or `MAY`, as SPEC.md gives it.
        public var force: String
        public var description: String { "\(method) \(template) (\(clause), a \(force))" }

        public init(method: String, template: String, clause: String, force: String) {
            self.method = method
            self.template = template
            self.clause = clause
            self.force = force
        }

        /// Whether `method path` (a query is ignored) is this route.
        public func matches(method: String, path: String) -> Bool {
            guard method == self.method else { return false }
            let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let given = pathOnly.split(separator: "/")
            let wanted = template.split(separator: "/")
            return given.count == wanted.count && zip(given, wanted).allSatisfy { $1.hasPrefix(":") || $0 == $1 }
        }
    }

    public static let all: [Route] = [
        Route(method: "GET", template: "/openapi.json", clause: "PB-REST-5", force: "SHOULD"),
        Route(method: "GET", template: "/api/v1/users/me", clause: "PB-USER-6", force: "SHOULD"),
        Route(method: "GET", template: "/api/v1/events/:id/holds", clause: "PB-HOLD-11", force: "SHOULD"),
        Route(method: "GET", template: "/metrics", clause: "PB-OPS-2", force: "SHOULD"),
        Route(method: "GET", template: "/api/v1/test-control", clause: "PB-TEST-1", force: "MAY"),
    ]

    /// The optional route `method path` is, if it is one.
    public static func route(method: String, path: String) -> Route? { all.first { $0.matches(method: method, path: path) } }

    /// Whether an answer says the route does not exist at all (rather than that the route found no
    /// such resource): 405 or 501, or a 404 without an error code of the resource kind (an HTML
    /// 404 page, or the protocol's `route_not_found`).
    static func isAbsent(status: Int, code: String?) -> Bool {
        switch status {
        case 405, 501: true
        case 404: code == nil || code == "route_not_found"
        default: false
        }
    }
}
