import Synchronization

/// Keeps the WAL bounded, off the write path. Connections run with
/// `wal_autocheckpoint = 0` (a checkpoint run by the committing connection would hold
/// its commit, fsyncs included). Every connection that writes reports the WAL's size
/// after each of its commits (SQLite's WAL hook: exact, where an estimate from the rows
/// written missed the whole 64 KiB pages a small commit dirties by about 90 times), and
/// once it passes `thresholdBytes` a checkpoint runs on this type's own connection:
///
/// 1. PASSIVE copies what it can without blocking anyone.
/// 2. RESTART copies the few frames committed meanwhile, holding writers off only for
///    that, and waits for readers still reading the old WAL; the next commit then
///    writes the WAL from its start and `journal_size_limit` truncates the file. PASSIVE
///    alone never gets there while commits keep coming: SQLite only rewinds the WAL when
///    a writer begins with every frame already copied and no reader in the WAL.
///
/// RESTART waits for readers `restartWaitMillis`; when it gives up (a reader busy with
/// a large batch), the next commit starts another round. Past `hardLimitBytes` writers
/// wait for the running checkpoint before they write again (`throttle`) and RESTART
/// waits longer, so the WAL stays near the hard limit however fast sessions write.
/// Readers never pin it: the store reads in one short transaction per call or batch.
final class SQLiteCheckpointer: Sendable {
    struct Policy: Sendable {
        /// WAL size that starts a checkpoint.
        var thresholdBytes: Int
        /// WAL size past which writers wait for the checkpointer.
        var hardLimitBytes: Int
        /// What a restarted WAL file is truncated to (`journal_size_limit`).
        var journalSizeLimitBytes: Int
        /// How long RESTART may hold writers off while readers finish, below and above
        /// the hard limit.
        var restartWaitMillis: Int32 = 100
        var hardRestartWaitMillis: Int32 = 2_000
        /// Tests: runs on the checkpointer's queue between PASSIVE and RESTART, where a
        /// busy server's next commit lands.
        var afterPassive: (@Sendable () -> Void)?

        init(thresholdBytes: Int = 32 << 20) {
            self.thresholdBytes = thresholdBytes
            hardLimitBytes = 2 * thresholdBytes
            journalSizeLimitBytes = 2 * thresholdBytes
        }
    }

    /// What the checkpointer did, for tests and diagnostics.
    struct Stats: Sendable, Equatable {
        /// The WAL's size after the latest commit reported.
        var walBytes = 0
        /// Checkpoint rounds finished, and those whose RESTART completed (the WAL rewinds).
        var rounds = 0
        var restarts = 0
        /// Writes that waited for a checkpoint at the hard limit.
        var throttled = 0
    }

    private struct State {
        var stats = Stats()
        var running = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let policy: Policy
    private let executor: SQLiteExecutor
    private let state = Mutex(State())

    init(path: String, policy: Policy = Policy()) throws(StoreError) {
        self.policy = policy
        executor = try SQLiteExecutor(path: path, label: "sqlite-checkpoint") { db throws(StoreError) in
            try db.execute(SQLiteSchema.connectionPragmas)
        }
    }

    var stats: Stats { state.withLock { $0.stats } }

    /// Has `db`'s commits reported here and bounds the WAL file it leaves after a restart.
    /// Call on the connection's queue, once the database exists (its page size is fixed).
    func watch(_ db: SQLiteConnection) throws(StoreError) {
        try db.execute("PRAGMA journal_size_limit = \(policy.journalSizeLimitBytes)")
        // A frame is a page and a 24-byte header; the WAL header is 32 bytes.
        let frameBytes = try db.pageSize + 24
        try db.onCommit { [self] frames in committed(walBytes: frames == 0 ? 0 : 32 + frames * frameBytes) }
    }

    /// Called on the committing connection's queue, right after its commit.
    private func committed(walBytes: Int) {
        let start = state.withLock { s -> Bool in
            s.stats.walBytes = walBytes
            guard walBytes >= policy.thresholdBytes, !s.running else { return false }
            s.running = true
            return true
        }
        guard start else { return }
        Task.detached { [self] in await checkpoint() }
    }

    private func checkpoint() async {
        // A failed round (the store closing, an I/O error) is left to the next commit.
        let restarted =
            (try? await executor.run { [self] db throws(StoreError) in
                _ = try db.checkpoint(.passive)
                policy.afterPassive?()
                // Past the hard limit writers wait for this round anyway: RESTART may wait
                // longer for readers, rather than leave the WAL to grow another round.
                let hard = state.withLock { $0.stats.walBytes >= policy.hardLimitBytes }
                db.setBusyTimeout(millis: hard ? policy.hardRestartWaitMillis : policy.restartWaitMillis)
                return try db.checkpoint(.restart).complete
            }) ?? false
        let waiters = state.withLock { s in
            s.running = false
            s.stats.rounds += 1
            if restarted { s.stats.restarts += 1 }
            defer { s.waiters = [] }
            return s.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns at once unless the WAL is past the hard limit while a checkpoint runs;
    /// then waits for it. Writers call this after each write: a fast writer cannot outrun
    /// the checkpointer, whatever the machine's load does to its scheduling.
    func throttle() async {
        await wait {
            $0.running && $0.stats.walBytes >= policy.hardLimitBytes
        } onWait: {
            $0.stats.throttled += 1
        }
    }

    /// Waits until no checkpoint runs (tests: a deterministic point to look at the WAL).
    func waitForCheckpoint() async {
        await wait { $0.running }
    }

    private func wait(while condition: (State) -> Bool, onWait: (inout State) -> Void = { _ in }) async {
        guard state.withLock({ condition($0) }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { s -> Bool in
                guard condition(s) else { return false }
                onWait(&s)
                s.waiters.append(continuation)
                return true
            }
            if !waiting { continuation.resume() }
        }
    }

    /// A last checkpoint at close, after the other connections closed. The WAL is bounded,
    /// so this copies at most about the hard limit: shutdown stays quick.
    func close() async {
        _ = try? await executor.run { db throws(StoreError) in
            db.setBusyTimeout(millis: 10_000)
            return try db.checkpoint(.truncate)
        }
        await executor.close()
    }
}
