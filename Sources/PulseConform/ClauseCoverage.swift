import Foundation

/// Which cases test which clause of SPEC.md: the table `pulse conform --coverage` prints, so a
/// MUST clause without a case is seen at once.
public struct ClauseCoverage: Sendable {
    /// One numbered clause of SPEC.md.
    public struct Clause: Sendable, Equatable {
        public var id: String
        /// As SPEC.md gives it: `MUST`, `SHOULD`, `MAY`, `MUST for the reference`, `MUST with the profile`.
        public var force: String
        public var isMust: Bool { force.hasPrefix("MUST") }
    }

    public var clauses: [Clause]
    /// Case ids by clause, per profile, marked by what they check (see ``document``).
    public var pulseCases: [String: [String]]
    public var socketIOCases: [String: [String]]

    private static func marked(_ testCase: ConformanceCase) -> String {
        switch testCase.checks {
        case .exact: "`\(testCase.id)`"
        case .statusOnly: "`\(testCase.id)`†"
        case .choice: "`\(testCase.id)`‡"
        case .behaviour: "`\(testCase.id)`°"
        }
    }

    /// Reads the clauses of `spec` (SPEC.md's text: `**PB-HOLD-3** (MUST) ...`) and the catalogue.
    public init(spec: String) {
        var seen = Set<String>()
        clauses = spec.split(separator: "\n").compactMap { line -> Clause? in
            guard line.hasPrefix("**PB-"), let close = line.range(of: "** ("), let end = line[close.upperBound...].firstIndex(of: ")") else {
                return nil
            }
            let id = String(line[line.index(line.startIndex, offsetBy: 2)..<close.lowerBound])
            guard seen.insert(id).inserted else { return nil }
            return Clause(id: id, force: String(line[close.upperBound..<end]))
        }
        pulseCases = Dictionary(grouping: Catalogue.cases(profile: .pulse), by: \.clause).mapValues { $0.map(Self.marked) }
        socketIOCases = Dictionary(grouping: Catalogue.cases(profile: .socketio), by: \.clause).mapValues { $0.map(Self.marked) }
    }

    /// The MUST clauses no case of the Pulse profile tests.
    public var uncoveredMusts: [String] { clauses.filter { $0.isMust && pulseCases[$0.id] == nil }.map(\.id) }

    /// Case ids that cite a clause SPEC.md does not have.
    public var unknownClauses: [String] {
        let known = Set(clauses.map(\.id))
        return (Array(pulseCases.keys) + Array(socketIOCases.keys)).filter { !known.contains($0) }.sorted()
    }

    /// CONFORMANCE.md: a title, what it is, and the table.
    public var document: String {
        """
        # Clause coverage

        Which conformance cases test each clause of [SPEC.md](SPEC.md), per profile. Generated: \
        `pulse conform --coverage > CONFORMANCE.md` (a test fails when this file and the catalogue \
        disagree). A case checks the exact status and error code its clause names unless marked: \
        † statuses only (a seed-style server has no codes; `errors.envelope` and `errors.route-not-found` \
        report that once), ‡ one of the implementation choices of SPEC.md §14, ° observed behaviour \
        (broadcasts, outcomes of races) rather than a status of its own. Every MUST clause's cases \
        also fail at least one single-defect variant of the independent server \
        (Tests/Conformance/Support/pulse_server.py; IndependentServerTests).

        """ + "\n" + markdown
    }

    /// The table in Markdown.
    public var markdown: String {
        var lines = [
            "| clause | force | pulse profile cases | socketio profile cases |",
            "|---|---|---|---|",
        ]
        for clause in clauses {
            let pulse = pulseCases[clause.id].map { $0.joined(separator: ", ") } ?? (clause.isMust ? "**none**" : "none")
            let seed = socketIOCases[clause.id].map { $0.joined(separator: ", ") } ?? "-"
            lines.append("| \(clause.id) | \(clause.force) | \(pulse) | \(seed) |")
        }
        let musts = clauses.filter(\.isMust).count
        lines.append("")
        lines.append(
            "\(clauses.count) clauses, \(musts) MUST; \(musts - uncoveredMusts.count) MUST clauses have a case in the pulse profile"
                + (uncoveredMusts.isEmpty ? "." : "; without one: \(uncoveredMusts.joined(separator: ", "))."))
        return lines.joined(separator: "\n") + "\n"
    }
}
