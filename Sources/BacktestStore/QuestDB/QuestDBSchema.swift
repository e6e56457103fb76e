/// The QuestDB tables, created at open through PG wire. Every table is WAL with DEDUP
/// UPSERT KEYS on an event-time designated timestamp, so a retried ILP batch (the
/// writer retries 5xx) or a re-sent row replaces itself instead of adding a copy.
///
/// Partitioning: DAY only for ticks. Candles, results and sessions use MONTH, because
/// a daily-bar series or a backtest over ten years would otherwise be thousands of
/// one-row partitions (QuestDB's advice: < 100 K rows a day -> MONTH or YEAR).
enum QuestDBSchema {
    static let sessions = "backtest_sessions"
    static let trades = "backtest_trades"
    static let equity = "backtest_equity_curve"
    static let candles = "market_candles"
    static let ticks = "market_ticks"

    static var tables: [String] { [sessions, trades, equity, candles, ticks] }

    /// Sessions: ONE row per session, keyed by (ts = created_at, session_id). A save
    /// re-sends the whole record at the same key and DEDUP replaces the row, so reads
    /// need no LATEST ON and filters apply to the current state directly. created_at
    /// never changes for a session (the contract's wall-clock creation time).
    /// session_id is VARCHAR (unique values; QuestDB advises against SYMBOL there);
    /// statistics and labels are JSON text, the request base64 text.
    static let ddl: [String] = [
        """
        CREATE TABLE IF NOT EXISTS backtest_sessions (\
        session_id VARCHAR, state SYMBOL, symbol SYMBOL CAPACITY 4096, timeframe VARCHAR, \
        range_start TIMESTAMP, range_end TIMESTAMP, strategy_name VARCHAR, acceleration_factor DOUBLE, \
        request_b64 VARCHAR, client_request_id VARCHAR, labels VARCHAR, progress_pct DOUBLE, sim_time TIMESTAMP, \
        events_processed LONG, final_pnl DOUBLE, total_trades LONG, win_rate_pct DOUBLE, statistics VARCHAR, \
        started_at TIMESTAMP, completed_at TIMESTAMP, error_message VARCHAR, stop_reason VARCHAR, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, session_id)
        """,
        // ts = entry time; a re-appended trade number replaces its row.
        """
        CREATE TABLE IF NOT EXISTS backtest_trades (\
        session_id SYMBOL CAPACITY 65536 INDEX, trade_number LONG, side SYMBOL, quantity DOUBLE, exit_time TIMESTAMP, \
        entry_price DOUBLE, exit_price DOUBLE, pnl DOUBLE, return_pct DOUBLE, commission DOUBLE, \
        entry_rule VARCHAR, exit_rule VARCHAR, entry_index LONG, exit_index LONG, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, session_id, trade_number)
        """,
        """
        CREATE TABLE IF NOT EXISTS backtest_equity_curve (\
        session_id SYMBOL CAPACITY 65536 INDEX, equity DOUBLE, cash DOUBLE, position_size DOUBLE, drawdown_pct DOUBLE, ts TIMESTAMP\
        ) TIMESTAMP(ts) PARTITION BY MONTH WAL DEDUP UPSERT KEYS(ts, session_id)
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
    ]

    static let sessionColumns = """
        session_id, state, symbol, timeframe, range_start, range_end, strategy_name, acceleration_factor, request_b64, \
        client_request_id, labels, progress_pct, sim_time, events_processed, final_pnl, total_trades, win_rate_pct, \
        statistics, ts, started_at, completed_at, error_message, stop_reason
        """

    static let tradeColumns = """
        trade_number, side, quantity, ts, exit_time, entry_price, exit_price, pnl, return_pct, commission, \
        entry_rule, exit_rule, entry_index, exit_index
        """
}
