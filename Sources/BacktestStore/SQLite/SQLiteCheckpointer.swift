import Synchronization

/// Copies the WAL back into the database file off the write path. Connections run with
/// `wal_autocheckpoint = 0`; writers report what they wrote, and once about
/// `thresholdBytes` have accumulated a PASSIVE checkpoint (it never blocks readers or
/// the writer) runs on the checkpointer's own connection and queue.
final class SQLiteCheckpointer: Sendable {
    private let executor: SQLiteExecutor
    private let thresholdBytes: Int
    /// Bytes written since the last checkpoint started, and whether one is queued.
    private let state = Mutex<(pending: Int, running: Bool)>((0, false))

    init(path: String, thresholdBytes: Int = 32 << 20) throws(StoreError) {
        self.thresholdBytes = thresholdBytes
        executor = try SQLiteExecutor(path: path, label: "sqlite-checkpoint") { db throws(StoreError) in
            try db.execute(SQLiteSchema.connectionPragmas)
        }
    }

    /// Called after a commit of about `bytes` bytes.
    func wrote(_ bytes: Int) {
        let start = state.withLock { s -> Bool in
            s.pending += bytes
            guard s.pending >= thresholdBytes, !s.running else { return false }
            s.pending = 0
            s.running = true
            return true
        }
        guard start else { return }
        Task.detached { [self] in
            _ = try? await executor.run { db throws(StoreError) in try db.execute("PRAGMA wal_checkpoint(PASSIVE)") }
            state.withLock { $0.running = false }
        }
    }

    /// A final full checkpoint (at close), so the WAL does not stay large on disk.
    func close() async {
        _ = try? await executor.run { db throws(StoreError) in try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        await executor.close()
    }
}
