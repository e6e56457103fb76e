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

    func next() async throws -> [Row]? {
        guard let fetch else { return nil }
        do {
            if let rows = try await fetch(), !rows.isEmpty { return rows }
        } catch {
            self.fetch = nil
            throw error
        }
        self.fetch = nil
        return nil
    }

    func close() { fetch = nil }
}
