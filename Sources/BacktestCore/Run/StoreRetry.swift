import BacktestStore

/// Retries a store call while the store says it is unavailable, with backoff, for up
/// to `budget`; other errors end it at once. What is still failing then is thrown.
enum StoreRetry {
    nonisolated(nonsending) static func run<T>(budget: Duration = .seconds(10), _ body: () async throws -> T)
        async throws -> T
    {
        let deadline = ContinuousClock.now + budget
        var delay = Duration.milliseconds(50)
        while true {
            do {
                return try await body()
            } catch let error as StoreError {
                guard case .unavailable = error, ContinuousClock.now + delay < deadline else { throw error }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(1))
            }
        }
    }
}
