import BacktestEngine
import TimeKit

/// One statement and its bound parameters. Values are always parameters; the only
/// things spliced into the SQL text are fixed table/column names and integers this
/// code computed (LIMIT counts, the SAMPLE BY interval from a parsed Timeframe).
struct QuestDBQuery: Equatable, Sendable {
    var sql: String
    var parameters: [PGParameter]
}

/// Every query QuestDBStore sends, as pure functions (tested without a server).
/// QuestDB has no OFFSET and no scrollable cursors: every listing is keyset-paged on
/// the designated timestamp (`ts > $last ORDER BY ts LIMIT n`), which QuestDB serves
/// as a forward scan of the partitions from `$last` on.
enum QuestDBSQL {
    /// The last designated timestamp QuestDB accepts (9999-12-31T23:59:59.999999Z);
    /// the first is the epoch. Query bounds are clamped into that span, so an open
    /// range like [Int64.min, Int64.max) stays a valid timestamp parameter.
    static let latestTime: Int64 = 253_402_300_800_000_000 - 1

    static func time(_ micros: Int64) -> PGParameter {
        .timestampMicros(min(max(micros, 0), latestTime))
    }

    /// Leaves deleted sessions out: every session read ANDs this in. (QuestDB takes
    /// `IN (SELECT ...)` for a SYMBOL, not a VARCHAR: session_id is cast.)
    static let notDeleted =
        "session_id::symbol NOT IN (SELECT session_id FROM \(QuestDBSchema.deleted))"

    static func sessionById(_ id: String) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.sessionColumns) FROM backtest_sessions WHERE session_id = $1 AND \(notDeleted) ORDER BY ts DESC LIMIT 1",
            parameters: [.text(id)])
    }

    /// The newest session with this client request id (ts is created_at).
    static func sessionByClientRequestId(_ id: String) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.sessionColumns) FROM backtest_sessions WHERE client_request_id = $1 AND \(notDeleted) ORDER BY ts DESC, session_id DESC LIMIT 1",
            parameters: [.text(id)])
    }

    /// Sessions of `owner` in any of `states` (sorted for a stable text), oldest first,
    /// one page after the key (created_at, id).
    static func sessionsInStates(
        _ states: [SessionState], owner: String, after: (createdAt: Int64, id: String)?, limit: Int
    ) -> QuestDBQuery {
        recordsInStates(
            "SELECT \(QuestDBSchema.sessionColumns) FROM backtest_sessions", id: "session_id", notDeleted: notDeleted,
            states, owner: owner, after: after, limit: limit)
    }

    /// Records of `owner` in any of `states`, oldest first, one page after the key
    /// (ts = created_at, then the id): start-up recovery's query for sessions and sweeps.
    private static func recordsInStates(
        _ select: String, id: String, notDeleted: String, _ states: [SessionState], owner: String,
        after: (createdAt: Int64, id: String)?, limit: Int
    ) -> QuestDBQuery {
        var parameters: [PGParameter] = []
        let ors = states.map(\.rawValue).sorted().map { state -> String in
            parameters.append(.text(state))
            return "state = $\(parameters.count)"
        }
        parameters.append(.text(owner))
        var sql =
            "\(select) WHERE (\(ors.joined(separator: " OR "))) AND owner = $\(parameters.count) AND \(notDeleted)"
        if let after {
            parameters += [time(after.createdAt), time(after.createdAt), .text(after.id)]
            let n = parameters.count
            sql += " AND (ts > $\(n - 2) OR (ts = $\(n - 1) AND \(id) > $\(n)))"
        }
        sql += " ORDER BY ts, \(id) LIMIT \(max(1, limit))"
        return QuestDBQuery(sql: sql, parameters: parameters)
    }

    /// One batch of ListSessions: the SQL filters (states, symbol, created range) and
    /// the keyset after the previous row, newest first. Label filters are applied to
    /// the decoded rows (labels are a JSON document; matching keys and values exactly
    /// in SQL would mean building JSON paths from user text).
    static func listSessions(_ query: SessionQuery, after: (createdAt: Int64, id: String)?, limit: Int) -> QuestDBQuery
    {
        var conditions = [notDeleted]
        var parameters: [PGParameter] = []
        func bind(_ value: PGParameter) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if !query.states.isEmpty {
            let ors = query.states.map(\.rawValue).sorted().map { "state = \(bind(.text($0)))" }
            conditions.append("(\(ors.joined(separator: " OR ")))")
        }
        if !query.symbol.isEmpty { conditions.append("symbol = \(bind(.text(query.symbol)))") }
        if let createdAfter = query.createdAfter { conditions.append("ts >= \(bind(time(createdAfter)))") }
        if let createdBefore = query.createdBefore { conditions.append("ts < \(bind(time(createdBefore)))") }
        if let after {
            let a = bind(time(after.createdAt))
            let b = bind(time(after.createdAt))
            let c = bind(.text(after.id))
            conditions.append("(ts < \(a) OR (ts = \(b) AND session_id < \(c)))")
        }
        return QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.sessionColumns) FROM backtest_sessions WHERE \(conditions.joined(separator: " AND ")) ORDER BY ts DESC, session_id DESC LIMIT \(max(1, limit))",
            parameters: parameters)
    }

    /// A session's trades after write key `afterKey`, in key (= trade number) order.
    /// Keyset on the key, not the trade number: the smallest LONG reads as NULL in
    /// QuestDB, and the key is what the session_id index and partitions are ordered by.
    static func trades(sessionId: String, afterKey: Int64, limit: Int) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.tradeColumns) FROM backtest_trades WHERE session_id = $1 AND ts > $2 ORDER BY ts LIMIT \(max(1, limit))",
            parameters: [.text(sessionId), time(afterKey)])
    }

    /// A session's equity samples with simulated times in [from, end), after write key
    /// `afterKey`, in key (= sample) order.
    static func equity(sessionId: String, from: Int64, end: Int64, afterKey: Int64, limit: Int) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.equityColumns) FROM backtest_equity_curve WHERE session_id = $1 AND ts > $2 AND sim_time >= $3 AND sim_time < $4 ORDER BY ts LIMIT \(max(1, limit))",
            parameters: [.text(sessionId), time(afterKey), time(from), time(end)])
    }

    static func candles(symbol: String, timeframe: String, from: Int64, end: Int64, limit: Int) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT ts, open, high, low, close, volume FROM market_candles WHERE symbol = $1 AND timeframe = $2 AND ts >= $3 AND ts < $4 ORDER BY ts LIMIT \(max(1, limit))",
            parameters: [.text(symbol), .text(timeframe), time(from), time(end)])
    }

    /// Ticks at [from, end) in time order. Ticks sharing a microsecond may straddle a
    /// LIMIT, so the reader drops the last time of a full batch and starts the next
    /// batch at it (see TickPaging); seq orders same-time ticks.
    static func ticks(symbol: String, from: Int64, end: Int64, limit: Int?) -> QuestDBQuery {
        QuestDBQuery(
            sql: "SELECT ts, seq, price, size FROM market_ticks WHERE symbol = $1 AND ts >= $2 AND ts < $3 ORDER BY ts"
                + (limit.map { " LIMIT \(max(1, $0))" } ?? ""),
            parameters: [.text(symbol), time(from), time(end)])
    }

    /// Candles aggregated from ticks by QuestDB. Only for intervals that divide a day:
    /// then ALIGN TO CALENDAR (buckets from UTC midnight) is the same grid as the
    /// epoch-aligned buckets of TickCandleAggregator and of SQLiteStore.
    static func candlesFromTicks(symbol: String, interval: Timeframe, from: Int64, end: Int64, limit: Int)
        -> QuestDBQuery?
    {
        guard case .candles(let seconds) = interval, 86_400 % seconds == 0 else { return nil }
        return QuestDBQuery(
            sql: """
                SELECT ts, first(price) AS open, max(price) AS high, min(price) AS low, last(price) AS close, sum(size) AS volume \
                FROM market_ticks WHERE symbol = $1 AND ts >= $2 AND ts < $3 SAMPLE BY \(seconds)s ALIGN TO CALENDAR LIMIT \(max(1, limit))
                """, parameters: [.text(symbol), time(from), time(end)])
    }

    /// Whether any row of a series exists.
    static func candlesExist(symbol: String, timeframe: String) -> QuestDBQuery {
        QuestDBQuery(
            sql: "SELECT ts FROM market_candles WHERE symbol = $1 AND timeframe = $2 LIMIT 1",
            parameters: [.text(symbol), .text(timeframe)])
    }

    static func ticksExist(symbol: String) -> QuestDBQuery {
        QuestDBQuery(sql: "SELECT ts FROM market_ticks WHERE symbol = $1 LIMIT 1", parameters: [.text(symbol)])
    }

    /// Stored series with their range and row count (QuestDB groups by the
    /// non-aggregated columns implicitly).
    static func candleSeries(symbol: String) -> QuestDBQuery {
        symbol.isEmpty
            ? QuestDBQuery(
                sql: "SELECT symbol, timeframe, min(ts), max(ts), count() FROM market_candles", parameters: [])
            : QuestDBQuery(
                sql: "SELECT symbol, timeframe, min(ts), max(ts), count() FROM market_candles WHERE symbol = $1",
                parameters: [.text(symbol)])
    }

    static func tickSeries(symbol: String) -> QuestDBQuery {
        symbol.isEmpty
            ? QuestDBQuery(sql: "SELECT symbol, min(ts), max(ts), count() FROM market_ticks", parameters: [])
            : QuestDBQuery(
                sql: "SELECT symbol, min(ts), max(ts), count() FROM market_ticks WHERE symbol = $1",
                parameters: [.text(symbol)])
    }

    /// Stored times of a series in [first, last] (both inclusive), for the import's
    /// conflict check; one row per stored row (ticks may repeat a time).
    static func storedTimes(
        kind: MarketSeries.Kind, symbol: String, timeframe: String, from: Int64, last: Int64, limit: Int?
    ) -> QuestDBQuery {
        let tail = " ORDER BY ts" + (limit.map { " LIMIT \(max(1, $0))" } ?? "")
        switch kind {
        case .candles:
            return QuestDBQuery(
                sql: "SELECT ts FROM market_candles WHERE symbol = $1 AND timeframe = $2 AND ts >= $3 AND ts <= $4"
                    + tail,
                parameters: [.text(symbol), .text(timeframe), time(from), time(last)])
        case .ticks:
            return QuestDBQuery(
                sql: "SELECT ts FROM market_ticks WHERE symbol = $1 AND ts >= $2 AND ts <= $3" + tail,
                parameters: [.text(symbol), time(from), time(last)])
        }
    }

    /// Whether a table has a column (the layout check at open). table_columns() takes a
    /// literal only: the names spliced here are QuestDBSchema's constants.
    static func hasColumn(table: String, column: String) -> QuestDBQuery {
        QuestDBQuery(
            sql: "SELECT count() FROM table_columns('\(table)') WHERE \"column\" = $1", parameters: [.text(column)])
    }

    // MARK: Deletion and purge (QuestDBPurge)

    /// Which of these ids have a session that is not deleted.
    static func storedSessionIds(_ ids: [String]) -> QuestDBQuery {
        let marks = ids.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
        return QuestDBQuery(
            sql: "SELECT session_id FROM backtest_sessions WHERE session_id IN (\(marks)) AND \(notDeleted)",
            parameters: ids.map { .text($0) })
    }

    static func isDeleted(_ id: String) -> QuestDBQuery {
        QuestDBQuery(
            sql: "SELECT count() FROM \(QuestDBSchema.deleted) WHERE session_id = $1", parameters: [.text(id)])
    }

    /// The creation time of the oldest session (or sweep) still STARTED or RUNNING, on
    /// any node: its rows' write keys are never below it, so no write lands in a
    /// partition that ends before it (docs/QUESTDB.md).
    static func oldestActive(_ kind: QuestDBSchema.Deletable) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT min(ts) FROM \(kind.records) WHERE (state = 'started' OR state = 'running') AND \(kind.id)::symbol NOT IN (SELECT \(kind.id) FROM \(kind.tombstones))",
            parameters: [])
    }

    /// The id column of `table`'s kind of record, as `IN (SELECT ...)` takes it: QuestDB
    /// takes that for a SYMBOL, so the record table's VARCHAR id is cast.
    private static func idColumn(_ table: String) -> (column: String, kind: QuestDBSchema.Deletable) {
        let kind = QuestDBSchema.deletable(of: table)
        return (table == kind.records ? "\(kind.id)::symbol" : kind.id, kind)
    }

    /// The condition on a table's rows that belong to deleted sessions (or sweeps).
    static func deletedRows(_ table: String) -> String {
        let (column, kind) = idColumn(table)
        return "\(column) IN (SELECT \(kind.id) FROM \(kind.tombstones))"
    }

    /// Rows of deleted sessions per partition: one row (partition start, count) each.
    static func deletedRowsByPartition(_ table: String, unit: QuestDBPartition.Unit) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT ts, count() FROM \(table) WHERE \(deletedRows(table)) SAMPLE BY \(unit == .day ? "1d" : "1M") ALIGN TO CALENDAR",
            parameters: [])
    }

    static func rowCount(_ table: String, in p: QuestDBPartition) -> QuestDBQuery {
        QuestDBQuery(
            sql: "SELECT count() FROM \(table) WHERE ts >= $1 AND ts < $2", parameters: [time(p.start), time(p.end)])
    }

    static func dropPartition(_ table: String, _ p: QuestDBPartition) -> String {
        "ALTER TABLE \(table) DROP PARTITION LIST '\(p.name)'"
    }

    /// The rows of a partition that stay, copied aside. (DDL takes no parameters: the
    /// bounds are spliced as the timestamps this code formatted from numbers.)
    static func copyKept(_ table: String, _ p: QuestDBPartition) -> String {
        """
        CREATE TABLE \(QuestDBSchema.staging(table)) AS (SELECT * FROM \(table) \
        WHERE ts >= '\(UTCTime.format(p.start, microseconds: true))' AND ts < '\(UTCTime.format(p.end, microseconds: true))' \
        AND NOT (\(deletedRows(table))))
        """
    }

    static func restoreKept(_ table: String) -> String {
        "INSERT INTO \(table) SELECT * FROM \(QuestDBSchema.staging(table))"
    }

    static func tableExists(_ table: String) -> QuestDBQuery {
        QuestDBQuery(sql: "SELECT count() FROM tables() WHERE table_name = $1", parameters: [.text(table)])
    }

    /// Tombstones written in each partition (a day) of a tombstone table.
    static func tombstonePartitions(_ tombstones: String = QuestDBSchema.deleted) -> QuestDBQuery {
        QuestDBQuery(sql: "SELECT ts, count() FROM \(tombstones) SAMPLE BY 1d ALIGN TO CALENDAR", parameters: [])
    }

    /// Rows `table` still holds of the sessions (or sweeps) deleted within partition `p`
    /// of their tombstone table (once 0 in every table, those tombstones have done
    /// their work).
    static func rowsLeft(_ table: String, deletedIn p: QuestDBPartition) -> QuestDBQuery {
        let (column, kind) = idColumn(table)
        return QuestDBQuery(
            sql:
                "SELECT count() FROM \(table) WHERE \(column) IN (SELECT \(kind.id) FROM \(kind.tombstones) WHERE ts >= $1 AND ts < $2)",
            parameters: [time(p.start), time(p.end)])
    }

    /// The purge lock: its token (random hex made by this code) and when it was taken.
    static func takePurgeLock(token: String) -> String {
        "CREATE TABLE \(QuestDBSchema.purgeLock) AS (SELECT '\(token)' token, systimestamp() taken FROM long_sequence(1))"
    }

    /// The lock's token, when it was taken and QuestDB's time now (its age is on one clock).
    static let purgeLockHolder = QuestDBQuery(
        sql: "SELECT token, taken, systimestamp() FROM \(QuestDBSchema.purgeLock)", parameters: [])

    static func dropTable(_ table: String) -> String { "DROP TABLE IF EXISTS \(table)" }

    // MARK: Sweeps

    /// Leaves deleted sweeps out: every read of sweep records ANDs this in.
    static let sweepNotDeleted =
        "sweep_id::symbol NOT IN (SELECT sweep_id FROM \(QuestDBSchema.deletedSweeps))"

    static func sweepById(_ id: String) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.sweepColumns) FROM backtest_sweeps WHERE sweep_id = $1 AND \(sweepNotDeleted) ORDER BY ts DESC LIMIT 1",
            parameters: [.text(id)])
    }

    /// Sweeps of `owner` in any of `states`, oldest first, one page after the key
    /// (created_at, id): start-up recovery's, as sessionsInStates.
    static func sweepsInStates(
        _ states: [SessionState], owner: String, after: (createdAt: Int64, id: String)?, limit: Int
    ) -> QuestDBQuery {
        recordsInStates(
            "SELECT \(QuestDBSchema.sweepColumns) FROM backtest_sweeps", id: "sweep_id", notDeleted: sweepNotDeleted,
            states, owner: owner, after: after, limit: limit)
    }

    /// One page of ListSweeps: newest first, optionally by state, after the key.
    static func listSweeps(states: Set<SessionState>, after: (createdAt: Int64, id: String)?, limit: Int)
        -> QuestDBQuery
    {
        var conditions = [sweepNotDeleted]
        var parameters: [PGParameter] = []
        func bind(_ value: PGParameter) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if !states.isEmpty {
            let ors = states.map(\.rawValue).sorted().map { "state = \(bind(.text($0)))" }
            conditions.append("(\(ors.joined(separator: " OR ")))")
        }
        if let after {
            let a = bind(time(after.createdAt))
            let b = bind(time(after.createdAt))
            let c = bind(.text(after.id))
            conditions.append("(ts < \(a) OR (ts = \(b) AND sweep_id < \(c)))")
        }
        return QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.sweepColumns) FROM backtest_sweeps WHERE \(conditions.joined(separator: " AND ")) ORDER BY ts DESC, sweep_id DESC LIMIT \(max(1, limit))",
            parameters: parameters)
    }

    /// Rows `[from, end)` of a sweep's results sorted by one statistic: rows with a
    /// value first (a failed combination has none, NaN is none), by the value in the
    /// direction asked, then the rest; ties by combination. QuestDB has no OFFSET:
    /// `LIMIT lo, hi` is the rows from lo to hi, hi excluded. It is applied to the
    /// sorted subquery, not to the sort itself: QuestDB's limited sort (`Sort light lo
    /// hi` in EXPLAIN, what a LIMIT on the sorting SELECT becomes) returned wrong rows
    /// for such keys (rows missing, others twice across pages; QuestDBSweepTests).
    ///
    /// Infinities are values (a profit factor with no losing trade), but QuestDB's sort
    /// puts both of them with the NULLs, and not always the same way: they are ranked by
    /// comparisons (which QuestDB gets right) before the finite values are sorted.
    static func sweepResults(
        sweepId: String, by statistic: QuestDBStatistics.Column, descending: Bool, from: Int, end: Int
    ) -> QuestDBQuery {
        let direction = descending ? "DESC" : "ASC"
        let x = "\"\(statistic.name)\""
        var order = "\(statistic.hasValue) DESC, "
        if statistic.sqlType == "DOUBLE" {
            let max = "1.7976931348623157E308"
            order += "CASE WHEN \(x) > \(max) THEN 2 WHEN \(x) < -\(max) THEN 0 ELSE 1 END \(direction), "
            order += "CASE WHEN \(x) <= \(max) AND \(x) >= -\(max) THEN \(x) ELSE 0.0 END \(direction), "
        } else {
            order += "CASE WHEN \(statistic.hasValue) THEN \(x) ELSE 0 END \(direction), "
        }
        return QuestDBQuery(
            sql: """
                SELECT \(QuestDBSchema.sweepResultColumns) FROM (SELECT \(QuestDBSchema.sweepResultColumns) \
                FROM backtest_sweep_results WHERE sweep_id = $1 ORDER BY \(order)combination) \
                LIMIT \(max(0, from)), \(max(0, end))
                """,
            parameters: [.text(sweepId)])
    }

    static func walkForwardWindows(sweepId: String) -> QuestDBQuery {
        QuestDBQuery(
            sql:
                "SELECT \(QuestDBSchema.windowColumns) FROM backtest_walk_forward_windows WHERE sweep_id = $1 ORDER BY window_index",
            parameters: [.text(sweepId)])
    }

    /// Which of these ids have a sweep that is not deleted.
    static func storedSweepIds(_ ids: [String]) -> QuestDBQuery {
        let marks = ids.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
        return QuestDBQuery(
            sql: "SELECT sweep_id FROM backtest_sweeps WHERE sweep_id IN (\(marks)) AND \(sweepNotDeleted)",
            parameters: ids.map { .text($0) })
    }

    static func isSweepDeleted(_ id: String) -> QuestDBQuery {
        QuestDBQuery(
            sql: "SELECT count() FROM \(QuestDBSchema.deletedSweeps) WHERE sweep_id = $1", parameters: [.text(id)])
    }

    /// The WAL state of one table: applied (writerTxn) against committed (sequencerTxn).
    static func walState(table: String) -> QuestDBQuery {
        QuestDBQuery(
            sql: "SELECT suspended, writerTxn, sequencerTxn FROM wal_tables() WHERE name = $1",
            parameters: [.text(table)])
    }
}
