import Foundation
import PulseHistory

extension ConformanceReport {
    /// JUnit XML for CI systems: one test suite per clause area, one test case per case; FAILED
    /// is a failure, NON-STRICT a failure of type `non-strict`, UNIMPLEMENTED and INCONCLUSIVE skipped
    /// (with the reason).
    public func junitXML() -> String {
        var xml = [#"<?xml version="1.0" encoding="UTF-8"?>"#]
        let total = results.reduce(0) { $0 + $1.durationSeconds }
        xml.append(
            #"<testsuites name="pulse-conformance" tests="\#(results.count)" failures="\#((counts[.failed] ?? 0) + (counts[.nonStrict] ?? 0))" time="\#(String(format: "%.3f", total))">"#
        )
        for (area, group) in byArea {
            let failures = group.filter { $0.grade == .failed || $0.grade == .nonStrict }.count
            let skipped = group.filter { $0.grade == .unimplemented || $0.grade == .inconclusive }.count
            let time = group.reduce(0) { $0 + $1.durationSeconds }
            xml.append(
                #"  <testsuite name="\#(Self.escape(area))" tests="\#(group.count)" failures="\#(failures)" skipped="\#(skipped)" time="\#(String(format: "%.3f", time))">"#
            )
            for result in group {
                let name = Self.escape("\(result.id) (\(result.clause) \(result.requirement.rawValue))")
                xml.append(
                    #"    <testcase classname="\#(Self.escape(area))" name="\#(name)" time="\#(String(format: "%.3f", result.durationSeconds))">"#)
                let evidence = Self.escape(result.evidence.joined(separator: "\n"))
                switch result.grade {
                case .failed:
                    xml.append(
                        #"      <failure type="failed" message="\#(Self.escape(result.evidence.first ?? result.title))">\#(evidence)</failure>"#)
                case .nonStrict:
                    xml.append(
                        #"      <failure type="non-strict" message="\#(Self.escape(result.evidence.first ?? result.title))">\#(evidence)</failure>"#)
                case .unimplemented, .inconclusive:
                    let reason = "\(result.grade.rawValue): \(result.evidence.first ?? "")"
                    xml.append(#"      <skipped message="\#(Self.escape(reason))"/>"#)
                case .ok, .informational:
                    if !result.evidence.isEmpty { xml.append("      <system-out>\(evidence)</system-out>") }
                }
                xml.append("    </testcase>")
            }
            xml.append("  </testsuite>")
        }
        xml.append("</testsuites>")
        return xml.joined(separator: "\n") + "\n"
    }

    /// Text escaped for XML and HTML.
    static func escape(_ text: String) -> String { Markup.escape(text) }
}
