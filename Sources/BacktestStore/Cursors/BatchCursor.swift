/// A RowCursor driven by a fetch function that returns the next batch (nil or empty
/// at the end). Stores keep their paging state (the last key read) in the closure, so
/// no connection or statement stays open between batches.
final class BatchCursor<Row: Sendable>: RowCursor {
    private var fetch: (() async throws -> [Row]?)?

    init(_ fetch: @escaping () async throws -> [Row]?) {
        self.fetch = fetch
    }

    /// A cursor with no rows.
    static func empty() -> BatchCursor<Row> { BatchCursor { nil } }

    /// A fetch that fails leaves the cursor where it was: the fetch closures move their
    /// position only after a batch is read, so a caller may retry (a run waiting out a
    /// store restart does) and gets the same batch, never a premature end.
    func next() async throws -> [Row]? {
        guard let fetch else { return nil }
        if let rows = try await fetch(), !rows.isEmpty { return rows }
        self.fetch = nil
        return nil
    }

    func close() { fetch = nil }
}
