import Foundation

extension Process {
    /// Waits at most `seconds` for the process to exit, polling ``isRunning``; true once it has.
    ///
    /// Used instead of `waitUntilExit()`, which spins the calling thread's run loop (odd in an async
    /// context) and has no deadline: a CI run of the tests once never ended, and an unbounded wait
    /// for a child is one place such a hang can hide. A bounded wait cannot hang.
    @discardableResult
    public func awaitExit(within seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning {
            guard Date() < deadline else { return false }
            usleep(5_000)
        }
        return true
    }

    /// SIGKILL, then ``awaitExit(within:)``: the child is gone, or the caller is told it is not.
    @discardableResult
    public func killAndAwaitExit(within seconds: Double = 10) -> Bool {
        if isRunning { kill(processIdentifier, SIGKILL) }
        return awaitExit(within: seconds)
    }
}
