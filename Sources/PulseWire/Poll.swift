/// Polls `probe` every 10 ms until it gives a value, for at most `seconds`; stops early when
/// `gaveUp` says the wait is hopeless (a closed connection). Throws `failure()` when it times out
/// or gives up. The wire drivers wait for messages this way.
func poll<T>(seconds: Double, _ probe: () throws -> T?, gaveUp: () -> Bool, failure: () -> APIError) async throws -> T {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while true {
        // Asked before probing: whatever arrived before the connection closed is seen by the probe.
        let hopeless = gaveUp()
        if let value = try probe() { return value }
        guard ContinuousClock.now < deadline, !hopeless else { throw failure() }
        try await Task.sleep(for: .milliseconds(10))
    }
}
