import Foundation
import PulseScenario
import PulseSim

/// The repository's scenario files.
enum ScenarioFiles {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scenarios")

    static func load(_ name: String) throws -> Scenario {
        try ScenarioParser.parse(try String(contentsOf: directory.appendingPathComponent("\(name).yaml"), encoding: .utf8))
    }
}
