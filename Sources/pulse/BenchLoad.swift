import ArgumentParser
import AsyncHTTPClient

/// The client counts of `--concurrency` ("16,64,256"), each in `allowed`, after checking
/// `--seconds` is in (0, 600]. Throws a ValidationError naming the bad option.
func loadCounts(concurrency: String, seconds: Double, allowed: ClosedRange<Int>) throws -> [Int] {
    let counts = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !counts.isEmpty, counts.allSatisfy({ allowed.contains($0) }) else {
        throw ValidationError("--concurrency must list counts \(allowed.lowerBound)...\(allowed.upperBound)")
    }
    guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    return counts
}

/// Runs `body` with an HTTP client that opens up to `connections` connections per host, and shuts
/// the client down after it, also when `body` throws.
func withLoadClient<T>(connections: Int, _ body: (HTTPClient) async throws -> T) async throws -> T {
    let http = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(
            connectionPool: .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)))
    let result: T
    do {
        result = try await body(http)
    } catch {
        try? await http.shutdown()
        throw error
    }
    try await http.shutdown()
    return result
}
