extension SQLiteStore {
    /// Pages given back to the file system per step of the incremental vacuum: 16 MiB
    /// of 64 KiB pages, so each step is one short write and the WAL stays bounded.
    static let vacuumStepPages = 256

    /// In one transaction, for each id: its rows in other tables (`dependents`, each a
    /// DELETE with the id as its one parameter), then its record in `table`. Returns the
    /// ids that had a record.
    private func deleteRecords(_ ids: [String], table: String, dependents: [String]) async throws -> Set<String> {
        try await writer.run { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Set<String> in
                var found = Set<String>()
                for id in ids {
                    for sql in dependents {
                        let s = try db.prepare(sql)
                        s.bind(1, id)
                        try s.run()
                    }
                    let s = try db.prepare("DELETE FROM \(table) WHERE id = ?")
                    s.bind(1, id)
                    try s.run()
                    if db.changes > 0 { found.insert(id) }
                }
                return found
            }
        }
    }

    /// One transaction removes the sessions with their labels, trade chunks and equity
    /// chunks (all or nothing); then the pages they held go back to the file system.
    public func deleteSessions(ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let deleted = try await deleteRecords(
            ids, table: "backtest_sessions",
            dependents: [
                "DELETE FROM backtest_session_labels WHERE session_id = ?",
                "DELETE FROM backtest_trade_chunks WHERE session_id = ?",
                "DELETE FROM backtest_equity_curve WHERE session_id = ?",
            ])
        forgetEquityPeaks(ids)
        await checkpointer.throttle()
        try await vacuumFreePages()
        return deleted
    }

    /// One transaction removes the sweeps with their result rows and walk-forward
    /// windows (the schema cascades too; explicit, so no row depends on the pragma);
    /// then the pages they held go back to the file system.
    public func deleteSweeps(ids: [String]) async throws -> Set<String> {
        guard !ids.isEmpty else { return [] }
        let deleted = try await deleteRecords(
            ids, table: "backtest_sweeps",
            dependents: [
                "DELETE FROM backtest_sweep_results WHERE sweep_id = ?",
                "DELETE FROM backtest_walk_forward_windows WHERE sweep_id = ?",
            ])
        await checkpointer.throttle()
        try await vacuumFreePages()
        return deleted
    }

    /// Gives the free pages back to the file system, a step at a time (databases made
    /// with `auto_vacuum = INCREMENTAL`, every one this store created; older ones keep
    /// free pages for reuse, docs/DESIGN.md section 10.1). The file itself shrinks at the
    /// next checkpoint, which copies the truncation from the WAL.
    func vacuumFreePages() async throws {
        guard incrementalVacuum else { return }
        var before = Int.max
        while true {
            let free = try await writer.run { db throws(StoreError) -> Int in
                try db.execute("PRAGMA incremental_vacuum(\(Self.vacuumStepPages))")
                let s = try db.prepare("PRAGMA freelist_count")
                _ = try s.step()
                return Int(s.int64(0))
            }
            await checkpointer.throttle()
            // Stop when nothing is left, or when a step freed nothing (never loop on it).
            guard free > 0, free < before else { return }
            before = free
        }
    }
}
