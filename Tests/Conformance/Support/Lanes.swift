/// Runs at most `width` bodies at once; the others wait their turn, first come first served.
actor Lanes {
    private let width: Int
    private var busy = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) { self.width = width }

    /// `body` once a lane is free; the lane is freed when it returns or throws.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy < width {
            busy += 1
        } else {
            await withCheckedContinuation { waiting.append($0) }
        }
        defer {
            if waiting.isEmpty { busy -= 1 } else { waiting.removeFirst().resume() }
        }
        return try await body()
    }
}
