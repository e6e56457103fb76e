import BacktestStore

/// Reads the next batch while the engine works on the current one, so reading the
/// store overlaps computing. One fetch is outstanding at most and the run calls
/// `next` from one task only, which is what makes sharing the cursor with the fetch
/// task safe. A fetch the store cannot answer is retried for `retryBudget` (a cursor
/// moves on only after a batch it returned), so a run waits out a store restart.
final class Prefetcher<Row: Sendable>: @unchecked Sendable {
    private let cursor: any RowCursor<Row>
    private let retryBudget: Duration
    private var pending: Task<[Row]?, any Error>?

    init(_ cursor: any RowCursor<Row>, retryBudget: Duration = .zero) {
        self.cursor = cursor
        self.retryBudget = retryBudget
    }

    func next() async throws -> [Row]? {
        let current = pending ?? fetch()
        pending = nil
        let batch = try await current.value
        if batch != nil { pending = fetch() }
        return batch
    }

    /// Waits for a fetch in flight, then releases the cursor.
    func close() async {
        _ = try? await pending?.value
        pending = nil
        cursor.close()
    }

    private func fetch() -> Task<[Row]?, any Error> {
        Task { try await StoreRetry.run(budget: self.retryBudget) { try await self.cursor.next() } }
    }
}
