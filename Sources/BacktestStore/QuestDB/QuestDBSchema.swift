/// The QuestDB tables, created at open through PG wire. Every table is WAL with DEDUP
/// UPSERT KEYS on its designated timestamp, so a retried ILP batch (the writer retries,
/// the spool replays) or a re-sent row replaces itself instead of adding a copy.
///
/// Results are written in the order QuestDB is made for: the designated timestamp of
/// a trade or equity row is its WRITE key, `ts = base + n` (n = the trade number or the
/// equity sample's index), where `base` is taken per session from the wall clock when
/// its first result is written, and never below the last key this process wrote. So
/// every session's rows land after every earlier session's rows: an append to the
/// newest partition, never a merge into old ones, and the cost of a write does not
/// grow with the number of stored sessions. The simulated time is an ordinary column
/// (`sim_time`, `entry_time`, `exit_time`): results are read by session_id (indexed)
/// in ts order, and charted over simulated time with `timestamp(sim_time)` on a
/// subquery (README). Had ts been the simulated time, every new backtest over the
/// same history would rewrite the partitions holding all earlier sessions' rows.
///
/// Partitioning: results by DAY of write time (a day's sessions together, and old days
/// can be dropped whole); sessions by MONTH of creation; candles MONTH and ticks DAY of
/// market time (market data is imported in time order, once).
///
/// Sweeps (docs/DESIGN.md section 13.6) are keyed from their creation time: the
/// record at `ts = created_at`, each result row at `created_at + combination`, each
/// walk-forward window at `created_at + index`. The key of a row never changes (a
/// retried or repeated write of a combination replaces it), and one node runs one
/// sweep at a time, so a sweep's rows are appended after the previous sweep's.
enum QuestDBSchema {
    static let sessions = "backtest_sessions"
    static let trades = "backtest_trades"
    static let equity = "backtest_equity_curve"
    static let candles = "market_candles"
    static let ticks = "market_ticks"
    static let deleted = "backtest_deleted_sessions"
    static let sweeps = "backtest_sweeps"
    static let sweepResults = "backtest_sweep_results"
    static let walkForwardWindows = "backtest_walk_forward_windows"
    static let deletedSweeps = "backtest_deleted_sweeps"

    /// What a deletion hides and a purge removes (QuestDBPurge): the records of one
    /// kind, by their id column, tombstoned in one table, with rows in these tables.
    struct Deletable: Sendable {
        let tombstones: String
        let id: String
        /// The record table, where the id is a VARCHAR (elsewhere a SYMBOL).
        let records: String
        /// Every table holding rows by that id, with its partitioning.
        let tables: [(table: String, unit: QuestDBPartition.Unit)]
    }

    static let sessionRows = Deletable(
        tombstones: deleted, id: "session_id", records: sessions,
        tables: [(sessions, .month), (trades, .day), (equity, .day)])
    static let sweepRows = Deletable(
        tombstones: deletedSweeps, id: "sweep_id", records: sweeps,
        tables: [(sweeps, .month), (sweepResults, .day), (walkForwardWindows, .month)])
    static let deletables = [sessionRows, sweepRows]

    /// The kind of record whose rows `table` holds.
    static func deletable(of table: String) -> Deletable {
        deletables.first { d in d.tables.contains { $0.table == table } } ?? sessionRows
    }

    /// Where a purge keeps the rows it is rewriting, while their partition is dropped
    /// and filled again (per table; left behind, it is put back by the next purge).
    static func staging(_ table: String) -> String { table + "_purge" }
    /// One purge at a time over every node on this QuestDB: CREATE TABLE of an
    /// existing name fails, so creating this table is taking a lock.
    static let purgeLock = "backtest_purge_lock"

    /// Sessions: ONE row per session, keyed by (ts = created_at, session_id). A save
    /// re-sends the whole record at the same key and DEDUP replaces the row, so reads
    /// need no LATEST ON and filters apply to the current state directly. created_at
    /// never changes for a session (the contract's wall-clock creation time), and is
    /// recent while a session is written, so the replaced row sits near the end.
    /// session_id is VARCHAR (unique values; QuestDB advises against SYMBOL there);
    /// owner is the node (backtestd) that runs the session; statistics and labels are
    /// JSON text, the request base64 text.
    static let ddl: [String] = [
        """
        CREATE TABLE IF NOT EXISTS backtest_sessions (\
        session_id VARCHAR, state SYMBOL, owner SYMBOL, symbol SYMBOL CAPACITY 4096, timeframe VARCHAR, \
        range_start TIMESTAMP, range_end TIMESTAMP, strategy_name VARCHAR, acceleration_factor DOUBLE, \
        request_b64 VARCHAR, client_request_id VARCHAR, labels VARCHAR, progress_pct DOUBLE, sim_time TIMESTAMP, \
        events_processed LONG, final_pnl DOUBLE, total_trades LONG, win_rate_pct DOUBLE, statistics VARCHAR, \
        started_at TIMESTAMP, completed_at TIMESTAMP, error_message VARCHAR, stop_reason VARCHAR, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, session_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS backtest_trades (\
        session_id SYMBOL CAPACITY 262144 INDEX, trade_number LONG, side SYMBOL, quantity DOUBLE, \
        entry_time TIMESTAMP, exit_time TIMESTAMP, entry_price DOUBLE, exit_price DOUBLE, pnl DOUBLE, return_pct DOUBLE, \
        commission DOUBLE, entry_rule VARCHAR, exit_rule VARCHAR, entry_index LONG, exit_index LONG, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, session_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS backtest_equity_curve (\
        session_id SYMBOL CAPACITY 262144 INDEX, sim_time TIMESTAMP, equity DOUBLE, cash DOUBLE, position_size DOUBLE, \
        drawdown_pct DOUBLE, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, session_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS market_candles (\
        symbol SYMBOL CAPACITY 4096, timeframe SYMBOL, open DOUBLE, high DOUBLE, low DOUBLE, close DOUBLE, volume DOUBLE, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, symbol, timeframe)
        """,
        // seq numbers ticks that share a microsecond (0, 1, 2, ... in arrival order), so
        // same-time prints are distinct keys and a re-import replaces them one for one.
        """
        CREATE TABLE IF NOT EXISTS market_ticks (\
        symbol SYMBOL CAPACITY 4096, seq LONG, price DOUBLE, size DOUBLE, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, symbol, seq)
        """,
        // Deleted sessions (docs/QUESTDB.md): one row per deletion at ts = when, by
        // owner = the node. Every session read leaves these ids out; a purge removes
        // their rows from the other tables, then the partitions of this one.
        """
        CREATE TABLE IF NOT EXISTS backtest_deleted_sessions (\
        session_id VARCHAR, owner SYMBOL, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, session_id)
        """,
        // Sweeps: one row per sweep at (ts = created_at, sweep_id), re-sent whole on
        // each save, as sessions. The stitched statistics of a walk-forward are JSON.
        """
        CREATE TABLE IF NOT EXISTS backtest_sweeps (\
        sweep_id VARCHAR, state SYMBOL, owner SYMBOL, symbol SYMBOL CAPACITY 4096, timeframe VARCHAR, \
        range_start TIMESTAMP, range_end TIMESTAMP, strategy_name VARCHAR, request_b64 VARCHAR, objective VARCHAR, \
        maximize BOOLEAN, total LONG, done LONG, failed LONG, top_k LONG, best_combination LONG, best_value DOUBLE, \
        started_at TIMESTAMP, completed_at TIMESTAMP, error_message VARCHAR, stop_reason VARCHAR, \
        stitched_statistics VARCHAR, stitched_session_id VARCHAR, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, sweep_id)
        """,
        // One row per combination at ts = the sweep's created_at + combination; every
        // statistic a column of its own (QuestDBStatistics), so any sorts in SQL.
        // has_statistics is false for a failed combination (its columns are NULL).
        """
        CREATE TABLE IF NOT EXISTS backtest_sweep_results (\
        sweep_id SYMBOL CAPACITY 65536 INDEX, combination LONG, params VARCHAR, has_statistics BOOLEAN, \
        error VARCHAR, session_id VARCHAR, \(QuestDBStatistics.definitions), ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, sweep_id)
        """,
        // A walk-forward's windows at ts = the sweep's created_at + index; their
        // statistics are JSON (read whole, never sorted).
        """
        CREATE TABLE IF NOT EXISTS backtest_walk_forward_windows (\
        sweep_id SYMBOL CAPACITY 65536 INDEX, window_index LONG, in_sample_start TIMESTAMP, in_sample_end TIMESTAMP, \
        out_of_sample_start TIMESTAMP, out_of_sample_end TIMESTAMP, combination LONG, params VARCHAR, \
        in_sample_value DOUBLE, in_sample_statistics VARCHAR, initial_capital DOUBLE, out_of_sample_statistics VARCHAR, \
        error VARCHAR, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, sweep_id)
        """,
        // Deleted sweeps, as deleted sessions: every sweep read leaves these ids out.
        """
        CREATE TABLE IF NOT EXISTS backtest_deleted_sweeps (\
        sweep_id VARCHAR, owner SYMBOL, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, sweep_id)
        """,
    ]

    /// Columns a table must have to be of this layout; an older layout is refused at open.
    static let layoutMarkers: [(table: String, column: String)] = [
        (sessions, "owner"), (trades, "entry_time"), (equity, "sim_time"),
    ]

    static let sessionColumns = """
        session_id, state, symbol, timeframe, range_start, range_end, strategy_name, acceleration_factor, request_b64, \
        client_request_id, labels, progress_pct, sim_time, events_processed, final_pnl, total_trades, win_rate_pct, \
        statistics, ts, started_at, completed_at, error_message, stop_reason
        """

    /// ts (the write key, for paging) first, then the trade.
    static let tradeColumns = """
        ts, trade_number, side, quantity, entry_time, exit_time, entry_price, exit_price, pnl, return_pct, commission, \
        entry_rule, exit_rule, entry_index, exit_index
        """

    /// ts (the write key, for paging) first, then the sample.
    static let equityColumns = "ts, sim_time, equity, cash, position_size, drawdown_pct"

    static let sweepColumns = """
        sweep_id, state, symbol, timeframe, range_start, range_end, strategy_name, request_b64, objective, maximize, \
        total, done, failed, top_k, best_combination, best_value, ts, started_at, completed_at, error_message, \
        stop_reason, stitched_statistics, stitched_session_id
        """

    /// The row, then every statistic (QuestDBStatistics.columns' order).
    static var sweepResultColumns: String {
        "combination, params, has_statistics, error, session_id, " + QuestDBStatistics.selectList
    }

    static let windowColumns = """
        window_index, in_sample_start, in_sample_end, out_of_sample_start, out_of_sample_end, combination, params, \
        in_sample_value, in_sample_statistics, initial_capital, out_of_sample_statistics, error
        """
}
