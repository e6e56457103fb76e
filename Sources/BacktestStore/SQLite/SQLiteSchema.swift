/// The SQLite schema, versioned with `PRAGMA user_version` and migrated on open.
///
/// Sessions are one row each. Trades (TradeChunk, version 2), the equity curve
/// (EquityChunk, version 2) and market data (ColumnChunk) are stored as chunks: one row
/// per up to 1024 trades / 4096 points with the first and last key beside the blob, so
/// range reads pick chunks by key and trim. Version 3 adds parameter sweeps: one row
/// per sweep and one per combination (its statistics as JSON, like a session's).
/// Version 4 adds walk-forwards: one row per window, and the stitched result on the
/// sweep's row.
enum SQLiteSchema {
    static let version: Int64 = 4

    /// Per-connection settings. Checkpoints are not run by the committing connection
    /// (its commit would wait for them, fsyncs included) but by SQLiteCheckpointer on
    /// a connection of its own; its `watch` then replaces the WAL hook that
    /// wal_autocheckpoint set and the journal_size_limit of connections that write
    /// (page_size only takes effect on a new, empty database: larger pages mean fewer
    /// overflow pages per chunk blob). auto_vacuum too takes effect only before the
    /// first table: new databases give the pages of deleted sessions back to the file
    /// system (`PRAGMA incremental_vacuum`), older ones keep them for reuse.
    static let connectionPragmas = """
        PRAGMA page_size = 65536;
        PRAGMA auto_vacuum = INCREMENTAL;
        PRAGMA journal_mode = WAL;
        PRAGMA synchronous = NORMAL;
        PRAGMA foreign_keys = ON;
        PRAGMA temp_store = FILE;
        PRAGMA cache_size = -65536;
        PRAGMA wal_autocheckpoint = 0;
        PRAGMA journal_size_limit = 67108864;
        """

    /// Step i takes a database from version i to i + 1, inside one transaction.
    static func migrate(_ db: SQLiteConnection, step: Int) throws(StoreError) {
        switch step {
        case 0: try db.execute(version1)
        case 1: try SQLiteMigrationV2.run(db)
        case 2: try db.execute(sweeps)
        default: try db.execute(walkForward)
        }
    }

    /// Version 1 (also the first step of a new database; version 2 converts its trades).
    static let version1 = """
        CREATE TABLE backtest_sessions (
            id TEXT PRIMARY KEY NOT NULL,
            state TEXT NOT NULL,
            symbol TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            range_start INTEGER NOT NULL,
            range_end INTEGER NOT NULL,
            strategy_name TEXT NOT NULL,
            acceleration_factor REAL,
            request BLOB NOT NULL,
            client_request_id TEXT NOT NULL,
            labels TEXT NOT NULL,
            progress_pct REAL,
            sim_time INTEGER,
            events_processed INTEGER NOT NULL,
            final_pnl REAL,
            total_trades INTEGER NOT NULL,
            win_rate_pct REAL,
            statistics TEXT,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            completed_at INTEGER,
            error_message TEXT NOT NULL,
            stop_reason TEXT NOT NULL
        );
        CREATE INDEX backtest_sessions_created ON backtest_sessions (created_at DESC, id DESC);
        CREATE INDEX backtest_sessions_state ON backtest_sessions (state);
        CREATE INDEX backtest_sessions_client_request ON backtest_sessions (client_request_id, created_at)
            WHERE client_request_id <> '';

        -- Labels again, one row each, for exact filtering (SQLite's JSON functions stop
        -- at a NUL character; bound comparisons on plain columns do not).
        CREATE TABLE backtest_session_labels (
            session_id TEXT NOT NULL REFERENCES backtest_sessions (id) ON DELETE CASCADE,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (session_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX backtest_session_labels_pair ON backtest_session_labels (key, value);

        CREATE TABLE backtest_trades (
            session_id TEXT NOT NULL,
            trade_number INTEGER NOT NULL,
            side TEXT NOT NULL,
            quantity REAL,
            entry_time INTEGER NOT NULL,
            exit_time INTEGER,
            entry_price REAL,
            exit_price REAL,
            pnl REAL,
            return_pct REAL,
            commission REAL,
            entry_rule TEXT NOT NULL,
            exit_rule TEXT NOT NULL,
            entry_index INTEGER NOT NULL,
            exit_index INTEGER,
            PRIMARY KEY (session_id, trade_number)
        ) WITHOUT ROWID;

        CREATE TABLE backtest_equity_curve (
            session_id TEXT NOT NULL,
            chunk_no INTEGER NOT NULL,
            first_time INTEGER NOT NULL,
            last_time INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (session_id, chunk_no)
        );

        CREATE TABLE market_series (
            id INTEGER PRIMARY KEY,
            symbol TEXT NOT NULL,
            kind TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            UNIQUE (symbol, kind, timeframe)
        );
        CREATE TABLE market_candles (
            seq INTEGER PRIMARY KEY,
            series_id INTEGER NOT NULL REFERENCES market_series (id),
            first_time INTEGER NOT NULL,
            last_time INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX market_candles_time ON market_candles (series_id, first_time, seq);
        CREATE TABLE market_ticks (
            seq INTEGER PRIMARY KEY,
            series_id INTEGER NOT NULL REFERENCES market_series (id),
            first_time INTEGER NOT NULL,
            last_time INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE INDEX market_ticks_time ON market_ticks (series_id, first_time, seq);
        """

    /// Version 3: sweeps. Results are keyed by combination, so a retried write replaces
    /// rather than duplicates; deleting a sweep's record takes its results with it.
    static let sweeps = """
        CREATE TABLE backtest_sweeps (
            id TEXT PRIMARY KEY NOT NULL,
            state TEXT NOT NULL,
            symbol TEXT NOT NULL,
            timeframe TEXT NOT NULL,
            range_start INTEGER NOT NULL,
            range_end INTEGER NOT NULL,
            strategy_name TEXT NOT NULL,
            request BLOB NOT NULL,
            objective TEXT NOT NULL,
            maximize INTEGER NOT NULL,
            total INTEGER NOT NULL,
            done INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            top_k INTEGER NOT NULL,
            best_combination INTEGER,
            best_value REAL,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            completed_at INTEGER,
            error_message TEXT NOT NULL,
            stop_reason TEXT NOT NULL
        );
        CREATE INDEX backtest_sweeps_created ON backtest_sweeps (created_at DESC, id DESC);
        CREATE INDEX backtest_sweeps_state ON backtest_sweeps (state);
        CREATE TABLE backtest_sweep_results (
            sweep_id TEXT NOT NULL REFERENCES backtest_sweeps (id) ON DELETE CASCADE,
            combination INTEGER NOT NULL,
            params TEXT NOT NULL,
            statistics TEXT,
            error TEXT NOT NULL,
            session_id TEXT NOT NULL,
            PRIMARY KEY (sweep_id, combination)
        ) WITHOUT ROWID;
        """

    /// Version 4: walk-forwards. Existing sweeps get no stitched result (NULL, '').
    static let walkForward = """
        ALTER TABLE backtest_sweeps ADD COLUMN stitched_statistics TEXT;
        ALTER TABLE backtest_sweeps ADD COLUMN stitched_session_id TEXT NOT NULL DEFAULT '';
        CREATE TABLE backtest_walk_forward_windows (
            sweep_id TEXT NOT NULL REFERENCES backtest_sweeps (id) ON DELETE CASCADE,
            window_index INTEGER NOT NULL,
            in_sample_start INTEGER NOT NULL,
            in_sample_end INTEGER NOT NULL,
            out_of_sample_start INTEGER NOT NULL,
            out_of_sample_end INTEGER NOT NULL,
            combination INTEGER,
            params TEXT NOT NULL,
            in_sample_value REAL,
            in_sample_statistics TEXT,
            initial_capital REAL,
            out_of_sample_statistics TEXT,
            error TEXT NOT NULL,
            PRIMARY KEY (sweep_id, window_index)
        ) WITHOUT ROWID;
        """

    /// Brings the database to `version`; refuses one made by a newer build.
    static func migrate(_ db: SQLiteConnection) throws(StoreError) {
        let statement = try db.prepare("PRAGMA user_version")
        _ = try statement.step()
        let current = statement.int64(0)
        statement.reset()
        guard current <= version else {
            throw StoreError.failed(
                "database \(db.path) has schema version \(current), newer than this build's \(version)")
        }
        if current == version { return }
        try db.transaction { () throws(StoreError) in
            for step in Int(current)..<Int(version) {
                try migrate(db, step: step)
            }
            try db.execute("PRAGMA user_version = \(version)")
        }
    }
}
