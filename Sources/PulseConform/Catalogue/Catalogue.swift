import Foundation

/// The conformance catalogue: every case, each citing the SPEC.md clause it tests.
public enum Catalogue {
    /// All cases, in report order.
    public static let all: [ConformanceCase] =
        (rest + accounts + events + holds + checkout + cancel + live + races + linearizable + clauses + depth + scope).map {
            testCase in
            choiceCases.contains(testCase.id) ? testCase.checking(.choice) : testCase
        }

    /// The cases that accept one of SPEC.md §14's implementation choices.
    static let choiceCases: Set<String> = ["live.upgrade"]

    /// The Pulse profile's cases whose clause (or id) starts with `prefix` (`PB-HOLD`, `PB-LIVE-7`), or all for nil.
    public static func cases(clausePrefix prefix: String?) -> [ConformanceCase] { cases(profile: .pulse, clausePrefix: prefix) }
}

/// Small readers of JSON answers for the cases.
extension Dictionary where Key == String, Value == Any {
    func string(_ key: String) -> String? { self[key] as? String }
    func int(_ key: String) -> Int? { (self[key] as? NSNumber)?.intValue }
    func double(_ key: String) -> Double? { (self[key] as? NSNumber)?.doubleValue }
    func strings(_ key: String) -> [String] { self[key] as? [String] ?? [] }
    func object(_ key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
    func objects(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
}

/// Whether `text` is `count` lower-case hexadecimal characters.
func isHex(_ text: String?, count: Int) -> Bool {
    guard let text, text.utf8.count == count else { return false }
    return text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
}
