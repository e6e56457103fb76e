import BacktestEngine
import Testing
import TimeKit

@testable import BacktestStore

/// The QuestDB SQL as pure text + parameters: what each query says, what it binds,
/// and that no caller-supplied text ever reaches the SQL.
@Suite struct QuestDBSQLTests {
    @Test func everyTableIsWALWithDedupOnItsDesignatedTimestamp() {
        let expected: [String: String] = [
            "backtest_sessions": "DEDUP UPSERT KEYS(ts, session_id)",
            "backtest_trades": "DEDUP UPSERT KEYS(ts, session_id)",
            "backtest_equity_curve": "DEDUP UPSERT KEYS(ts, session_id)",
            "market_candles": "DEDUP UPSERT KEYS(ts, symbol, timeframe)",
            "market_ticks": "DEDUP UPSERT KEYS(ts, symbol, seq)",
            "backtest_deleted_sessions": "DEDUP UPSERT KEYS(ts, session_id)",
            "backtest_sweeps": "DEDUP UPSERT KEYS(ts, sweep_id)",
            "backtest_sweep_results": "DEDUP UPSERT KEYS(ts, sweep_id)",
            "backtest_walk_forward_windows": "DEDUP UPSERT KEYS(ts, sweep_id)",
            "backtest_deleted_sweeps": "DEDUP UPSERT KEYS(ts, sweep_id)",
        ]
        #expect(QuestDBSchema.ddl.count == expected.count)
        for ddl in QuestDBSchema.ddl {
            let table = ddl.split(separator: " ")[5].split(separator: "(")[0]
            #expect(ddl.hasPrefix("CREATE TABLE IF NOT EXISTS \(table) ("))
            #expect(ddl.contains(") TIMESTAMP(ts) PARTITION BY "))
            #expect(ddl.contains(" WAL "))
            #expect(ddl.hasSuffix(expected[String(table)] ?? "missing \(table)"), "\(ddl)")
        }
        #expect(QuestDBSchema.ddl.last!.contains("PARTITION BY DAY"))
        // Results are partitioned by the day of their write key, appended in key order.
        for results in QuestDBSchema.ddl
        where results.contains("backtest_trades") || results.contains("backtest_equity_curve") {
            #expect(results.contains("session_id SYMBOL CAPACITY 262144 INDEX") && results.contains("PARTITION BY DAY"))
        }
    }

    @Test func listSessionsWithEveryFilterAndAToken() {
        var q = SessionQuery()
        q.states = [.running, .completed]
        q.symbol = "GOOG"
        q.createdAfter = 1_000_000
        q.createdBefore = 2_000_000
        q.labels = ["team": "a"]
        let query = QuestDBSQL.listSessions(q, after: (createdAt: 1_500_000, id: "s-9"), limit: 101)
        #expect(
            query.sql
                == "SELECT \(QuestDBSchema.sessionColumns) FROM backtest_sessions WHERE \(QuestDBSQL.notDeleted) AND (state = $1 OR state = $2) AND symbol = $3 AND ts >= $4 AND ts < $5 AND (ts < $6 OR (ts = $7 AND session_id < $8)) ORDER BY ts DESC, session_id DESC LIMIT 101"
        )
        #expect(
            query.parameters == [
                .text("completed"), .text("running"), .text("GOOG"), .timestampMicros(1_000_000),
                .timestampMicros(2_000_000), .timestampMicros(1_500_000), .timestampMicros(1_500_000), .text("s-9"),
            ])
        let bare = QuestDBSQL.listSessions(SessionQuery(), after: nil, limit: 0)
        #expect(
            bare.sql
                == "SELECT \(QuestDBSchema.sessionColumns) FROM backtest_sessions WHERE \(QuestDBSQL.notDeleted) ORDER BY ts DESC, session_id DESC LIMIT 1"
        )
        #expect(bare.parameters.isEmpty)
    }

    @Test func sessionsInStatesPagesOldestFirst() {
        let q = QuestDBSQL.sessionsInStates(
            [.started, .running], owner: "node-a", after: (createdAt: 7, id: "x"), limit: 1000)
        #expect(
            q.sql
                == "SELECT \(QuestDBSchema.sessionColumns) FROM backtest_sessions WHERE (state = $1 OR state = $2) AND owner = $3 AND \(QuestDBSQL.notDeleted) AND (ts > $4 OR (ts = $5 AND session_id > $6)) ORDER BY ts, session_id LIMIT 1000"
        )
        #expect(
            q.parameters == [
                .text("running"), .text("started"), .text("node-a"), .timestampMicros(7), .timestampMicros(7),
                .text("x"),
            ])
    }

    @Test func keysetReadsOfResultsAndMarketData() {
        // Keyset on the write key (never the smallest LONG, which QuestDB reads as NULL).
        #expect(
            QuestDBSQL.trades(sessionId: "s", afterKey: 12, limit: 50)
                == QuestDBQuery(
                    sql:
                        "SELECT \(QuestDBSchema.tradeColumns) FROM backtest_trades WHERE session_id = $1 AND ts > $2 ORDER BY ts LIMIT 50",
                    parameters: [.text("s"), .timestampMicros(12)]))
        #expect(
            QuestDBSQL.equity(sessionId: "s", from: 5, end: 9, afterKey: 0, limit: 3)
                == QuestDBQuery(
                    sql:
                        "SELECT ts, sim_time, equity, cash, position_size, drawdown_pct FROM backtest_equity_curve WHERE session_id = $1 AND ts > $2 AND sim_time >= $3 AND sim_time < $4 ORDER BY ts LIMIT 3",
                    parameters: [.text("s"), .timestampMicros(0), .timestampMicros(5), .timestampMicros(9)]))
        #expect(
            QuestDBSQL.candles(symbol: "A", timeframe: "1m", from: 1, end: 2, limit: 4).parameters
                == [.text("A"), .text("1m"), .timestampMicros(1), .timestampMicros(2)])
        #expect(
            QuestDBSQL.ticks(symbol: "A", from: 1, end: 2, limit: nil).sql
                == "SELECT ts, seq, price, size FROM market_ticks WHERE symbol = $1 AND ts >= $2 AND ts < $3 ORDER BY ts"
        )
        #expect(
            QuestDBSQL.walState(table: "market_ticks")
                == QuestDBQuery(
                    sql: "SELECT suspended, writerTxn, sequencerTxn FROM wal_tables() WHERE name = $1",
                    parameters: [.text("market_ticks")]))
    }

    @Test func sampleByOnlyForIntervalsThatDivideADay() throws {
        let minute = try #require(
            QuestDBSQL.candlesFromTicks(
                symbol: "A", interval: try Timeframe(parsing: "1m"), from: 0, end: 60, limit: 10))
        #expect(
            minute.sql
                == "SELECT ts, first(price) AS open, max(price) AS high, min(price) AS low, last(price) AS close, sum(size) AS volume FROM market_ticks WHERE symbol = $1 AND ts >= $2 AND ts < $3 SAMPLE BY 60s ALIGN TO CALENDAR LIMIT 10"
        )
        for ok in ["1s", "15m", "4h", "1d", "90s"] {
            #expect(
                QuestDBSQL.candlesFromTicks(
                    symbol: "A", interval: try Timeframe(parsing: ok), from: 0, end: 1, limit: 1) != nil, "\(ok)")
        }
        for notDividing in ["7m", "7h", "2d", "7d"] {
            #expect(
                QuestDBSQL.candlesFromTicks(
                    symbol: "A", interval: try Timeframe(parsing: notDividing), from: 0, end: 1, limit: 1) == nil,
                "\(notDividing)")
        }
        #expect(QuestDBSQL.candlesFromTicks(symbol: "A", interval: .tick, from: 0, end: 1, limit: 1) == nil)
    }

    /// Hostile text only ever travels as a bound parameter.
    @Test func callerTextIsNeverSQL() {
        for text in SQLiteInjectionTests.nasty where !text.isEmpty {
            var q = SessionQuery()
            q.symbol = text
            q.labels = [text: text]
            let queries = [
                QuestDBSQL.sessionById(text), QuestDBSQL.sessionByClientRequestId(text),
                QuestDBSQL.listSessions(q, after: (createdAt: 1, id: text), limit: 5),
                QuestDBSQL.trades(sessionId: text, afterKey: 0, limit: 1),
                QuestDBSQL.equity(sessionId: text, from: 0, end: 1, afterKey: 0, limit: 1),
                QuestDBSQL.sessionsInStates([.running], owner: text, after: nil, limit: 1),
                QuestDBSQL.candles(symbol: text, timeframe: text, from: 0, end: 1, limit: 1),
                QuestDBSQL.ticks(symbol: text, from: 0, end: 1, limit: 1),
                QuestDBSQL.candleSeries(symbol: text), QuestDBSQL.tickSeries(symbol: text),
                QuestDBSQL.storedTimes(kind: .candles, symbol: text, timeframe: text, from: 0, last: 1, limit: nil),
                QuestDBSQL.storedTimes(kind: .ticks, symbol: text, timeframe: "", from: 0, last: 1, limit: 9),
                QuestDBSQL.candlesExist(symbol: text, timeframe: "1m"), QuestDBSQL.ticksExist(symbol: text),
                QuestDBSQL.storedSessionIds(["a", text]), QuestDBSQL.isDeleted(text),
                QuestDBSQL.sweepById(text), QuestDBSQL.sweepsInStates([.running], owner: text, after: nil, limit: 1),
                QuestDBSQL.listSweeps(states: [.completed], after: (createdAt: 1, id: text), limit: 5),
                QuestDBSQL.sweepResults(
                    sweepId: text, by: QuestDBStatistics.columns[0], descending: true, from: 0, end: 5),
                QuestDBSQL.walkForwardWindows(sweepId: text), QuestDBSQL.storedSweepIds([text]),
                QuestDBSQL.isSweepDeleted(text),
            ]
            for query in queries {
                #expect(!query.sql.contains(text), "\(query.sql)")
                #expect(!query.sql.contains("'"), "\(query.sql)")
                #expect(query.parameters.contains(.text(text)), "\(query.sql)")
                // $1...$n, each bound exactly once.
                let marks = (1...query.parameters.count).map { "$\($0)" }
                #expect(marks.allSatisfy { query.sql.contains($0) })
                #expect(!query.sql.contains("$\(query.parameters.count + 1)"))
            }
        }
    }

    /// A purge splices partition names and bounds into DDL (which takes no parameters):
    /// digits and dashes this code formatted from numbers, nothing else.
    @Test func purgeStatementsNamePartitionsFromNumbersOnly() {
        let leapDay = UTCTime.days(year: 2024, month: 2, day: 29) * 86_400_000_000 + 12_345
        let day = QuestDBPartition(.day, containing: leapDay)
        #expect(day.name == "2024-02-29")
        #expect(day.start == leapDay - 12_345 && day.end == day.start + 86_400_000_000)
        let month = QuestDBPartition(.month, containing: leapDay)
        #expect(month.name == "2024-02")
        #expect(month.start == UTCTime.days(year: 2024, month: 2, day: 1) * 86_400_000_000)
        #expect(month.end == UTCTime.days(year: 2024, month: 3, day: 1) * 86_400_000_000)
        #expect(QuestDBPartition(.month, containing: 0).name == "1970-01")
        #expect(
            QuestDBSQL.dropPartition("backtest_trades", day)
                == "ALTER TABLE backtest_trades DROP PARTITION LIST '2024-02-29'")
        #expect(
            QuestDBSQL.copyKept("backtest_sessions", month)
                == "CREATE TABLE backtest_sessions_purge AS (SELECT * FROM backtest_sessions WHERE ts >= '2024-02-01T00:00:00.000000Z' AND ts < '2024-03-01T00:00:00.000000Z' AND NOT (session_id::symbol IN (SELECT session_id FROM backtest_deleted_sessions)))"
        )
        #expect(
            QuestDBSQL.deletedRowsByPartition("backtest_equity_curve", unit: .day).sql
                == "SELECT ts, count() FROM backtest_equity_curve WHERE session_id IN (SELECT session_id FROM backtest_deleted_sessions) SAMPLE BY 1d ALIGN TO CALENDAR"
        )
        #expect(QuestDBSQL.deletedRowsByPartition("backtest_sessions", unit: .month).sql.contains("SAMPLE BY 1M"))
        // Sweeps' rows go by their own tombstones.
        #expect(
            QuestDBSQL.deletedRows("backtest_sweeps")
                == "sweep_id::symbol IN (SELECT sweep_id FROM backtest_deleted_sweeps)")
        #expect(
            QuestDBSQL.deletedRows("backtest_sweep_results")
                == "sweep_id IN (SELECT sweep_id FROM backtest_deleted_sweeps)")
        #expect(
            QuestDBSQL.rowsLeft("backtest_walk_forward_windows", deletedIn: day).sql
                == "SELECT count() FROM backtest_walk_forward_windows WHERE sweep_id IN (SELECT sweep_id FROM backtest_deleted_sweeps WHERE ts >= $1 AND ts < $2)"
        )
        #expect(
            QuestDBSQL.oldestActive(QuestDBSchema.sweepRows).sql
                == "SELECT min(ts) FROM backtest_sweeps WHERE (state = 'started' OR state = 'running') AND sweep_id::symbol NOT IN (SELECT sweep_id FROM backtest_deleted_sweeps)"
        )
        #expect(
            QuestDBSchema.deletables.flatMap { $0.tables.map(\.table) }.sorted()
                == [
                    "backtest_equity_curve", "backtest_sessions", "backtest_sweep_results", "backtest_sweeps",
                    "backtest_trades", "backtest_walk_forward_windows",
                ])
    }

    /// Sweep results sort on the statistic's own column: rows with a value first (in
    /// the direction asked, infinities ranked by comparison), then the others, ties by
    /// combination; QuestDB's `LIMIT lo, hi` pages them.
    @Test func sweepResultsSortOnTheStatisticsColumn() throws {
        let sharpe = try #require(QuestDBStatistics.column(key: "sharpeRatio"))
        #expect(sharpe.name == "sharpe_ratio" && sharpe.sqlType == "DOUBLE")
        let q = QuestDBSQL.sweepResults(sweepId: "s", by: sharpe, descending: false, from: 200, end: 301)
        #expect(
            q.sql
                == "SELECT \(QuestDBSchema.sweepResultColumns) FROM (SELECT \(QuestDBSchema.sweepResultColumns) FROM backtest_sweep_results WHERE sweep_id = $1 ORDER BY (\"sharpe_ratio\" <= 0 OR \"sharpe_ratio\" > 0) DESC, CASE WHEN \"sharpe_ratio\" > 1.7976931348623157E308 THEN 2 WHEN \"sharpe_ratio\" < -1.7976931348623157E308 THEN 0 ELSE 1 END ASC, CASE WHEN \"sharpe_ratio\" <= 1.7976931348623157E308 AND \"sharpe_ratio\" >= -1.7976931348623157E308 THEN \"sharpe_ratio\" ELSE 0.0 END ASC, combination) LIMIT 200, 301"
        )
        #expect(q.parameters == [.text("s")])
        let trades = try #require(QuestDBStatistics.column(key: "totalTrades"))
        #expect(trades.name == "total_trades" && trades.sqlType == "LONG")
        #expect(
            QuestDBSQL.sweepResults(sweepId: "s", by: trades, descending: true, from: 0, end: 3).sql.contains(
                "THEN \"total_trades\" ELSE 0 END DESC, combination) LIMIT 0, 3"))
        #expect(QuestDBStatistics.column(key: "sharpe_ratio") == nil, "keys, not contract names")
        #expect(QuestDBStatistics.column(key: "maxDrawdownDurationMicros")?.name == "max_drawdown_duration_micros")
    }

    @Test func timeBoundsAreClampedToQuestDBsSpan() {
        #expect(QuestDBSQL.latestTime == UTCTime.days(year: 10_000, month: 1, day: 1) * 86_400_000_000 - 1)
        #expect(
            QuestDBSQL.equity(sessionId: "s", from: .min, end: .max, afterKey: .min, limit: 1).parameters
                == [.text("s"), .timestampMicros(0), .timestampMicros(0), .timestampMicros(QuestDBSQL.latestTime)])
        #expect(PGConnection.timestampText(QuestDBSQL.latestTime) == "9999-12-31T23:59:59.999999Z")
        #expect(QuestDBSQL.time(1_700_000_000_000_001) == .timestampMicros(1_700_000_000_000_001))
    }

    @Test func pgURLGetsSSLDisabled() {
        #expect(
            QuestDBStore.withSSLDisabled("postgresql://admin:quest@h:8812/qdb")
                == "postgresql://admin:quest@h:8812/qdb?sslmode=disable")
        #expect(
            QuestDBStore.withSSLDisabled("postgresql://h/qdb?connect_timeout=3")
                == "postgresql://h/qdb?connect_timeout=3&sslmode=disable")
        #expect(
            QuestDBStore.withSSLDisabled("postgresql://h/qdb?sslmode=require") == "postgresql://h/qdb?sslmode=require")
        #expect(QuestDBStore.withSSLDisabled("host=h port=8812") == "host=h port=8812 sslmode=disable")
    }
}
