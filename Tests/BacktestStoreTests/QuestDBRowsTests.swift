import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Rows to ILP bytes and PG-wire rows back to values, and the small decisions the
/// store makes (tick paging, import checks, WAL progress, page tokens), without a server.
@Suite struct QuestDBRowsTests {
    static let record = SessionRecord(
        id: "s 1", state: .running, symbol: "GO,OG", timeframe: "1d",
        range: TimeRange(start: 1_000_000, end: 2_000_000),
        strategyName: "sma \"x\"", accelerationFactor: 0, request: [0, 1, 2, 255], labels: ["k": "v"],
        progressPct: 42.5,
        simTime: 1_500_000, eventsProcessed: 7, finalPnl: -1.25, totalTrades: 2, winRatePct: .nan,
        createdAt: 1_700_000_000_000_000,
        startedAt: 1_700_000_000_000_005)

    @Test func sessionLineBytes() throws {
        var buffer = ILPBuffer()
        try QuestDBRows.appendSession(Self.record, owner: "node 1", to: &buffer)
        let expected =
            #"backtest_sessions,state=running,owner=node\ 1,symbol=GO\,OG session_id="s 1",timeframe="1d",range_start=1000000t,range_end=2000000t,strategy_name="sma \"x\"",acceleration_factor=0.0,request_b64="AAEC/w==",client_request_id="",labels="{\"k\":\"v\"}",progress_pct=42.5,sim_time=1500000t,events_processed=7i,final_pnl=-1.25,total_trades=2i,win_rate_pct=NaN,started_at=1700000000000005t,error_message="",stop_reason="" 1700000000000000"#
            + "\n"
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == expected)
    }

    @Test func hostileSymbolsAreEscapedInLines() throws {
        var buffer = ILPBuffer()
        let symbol = "a,b c=d\"e\nf\\"
        try QuestDBRows.appendCandle(
            symbol: symbol, timeframe: "1m",
            Candle(time: 60_000_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 10), to: &buffer)
        try QuestDBRows.appendTick(symbol: symbol, seq: 2, Tick(time: 5, price: 1.25, size: 0), to: &buffer)
        try QuestDBRows.appendEquity(
            sessionId: "id\r\n=x", key: 1_700_000_000_000_000,
            EquitySample(time: 9, equity: 1e20, cash: -0.0, positionSize: 3, drawdownPct: -1e-7), to: &buffer)
        let expected =
            "market_candles,symbol=a\\,b\\ c\\=d\"e\\\nf\\\\,timeframe=1m open=1.0,high=2.0,low=0.5,close=1.5,volume=10.0 60000000\n"
            + "market_ticks,symbol=a\\,b\\ c\\=d\"e\\\nf\\\\ seq=2i,price=1.25,size=0.0 5\n"
            + "backtest_equity_curve,session_id=id\\\r\\\n\\=x sim_time=9t,equity=1e20,cash=-0.0,position_size=3.0,drawdown_pct=-1e-7 1700000000000000\n"
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == expected)
        #expect(buffer.rowCount == 3)
        // QuestDB's designated timestamps span 1970-01-01 to 9999-12-31: others are refused here.
        #expect(
            throws: StoreError.invalid(
                "QuestDB keeps market_ticks rows from 1970-01-01 to 9999-12-31 only, not at 1969-12-31T23:59:59.999995Z"
            )
        ) {
            try QuestDBRows.appendTick(symbol: "a", seq: 0, Tick(time: -5, price: 1, size: 1), to: &buffer)
        }
        #expect(throws: StoreError.self) {
            try QuestDBRows.appendEquity(
                sessionId: "s", key: 1,
                EquitySample(time: QuestDBSQL.latestTime + 1, equity: 1, cash: 1, positionSize: 0, drawdownPct: 0),
                to: &buffer)
        }
        #expect(buffer.rowCount == 3)
    }

    @Test func tradeLinesOmitWhatIsOpen() throws {
        var buffer = ILPBuffer()
        let open = TradeRecord(
            number: 3, side: .short, quantity: 10, entryTime: 100, exitTime: nil, entryPrice: 5, exitPrice: 6,
            pnl: -10, returnPct: -20, commission: 0.5, entryRule: "r \"1\"", exitRule: "", entryIndex: 4, exitIndex: nil
        )
        try QuestDBRows.appendTrade(sessionId: "s", key: 1_700_000_000_000_003, open, to: &buffer)
        let expected =
            #"backtest_trades,session_id=s,side=short trade_number=3i,quantity=10.0,entry_time=100t,entry_price=5.0,exit_price=6.0,pnl=-10.0,return_pct=-20.0,commission=0.5,entry_rule="r \"1\"",exit_rule="",entry_index=4i 1700000000000003"#
            + "\n"
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == expected)
        // The field-by-field writer gives the bytes of the generic, validating encoder.
        var generic = ILPBuffer()
        try generic.row(
            "backtest_trades", symbols: [("session_id", "s"), ("side", "short")],
            columns: [
                ("trade_number", .long(3)), ("quantity", .double(10)), ("entry_time", .timestampMicros(100)),
                ("entry_price", .double(5)),
                ("exit_price", .double(6)), ("pnl", .double(-10)), ("return_pct", .double(-20)),
                ("commission", .double(0.5)),
                ("entry_rule", .string("r \"1\"")), ("exit_rule", .string("")), ("entry_index", .long(4)),
            ], atMicros: 1_700_000_000_000_003)
        #expect(generic.bytes == buffer.bytes)
        var closed = ILPBuffer()
        var done = open
        done.exitTime = 200
        done.exitIndex = 9
        try QuestDBRows.appendTrade(sessionId: "s", key: 7, done, to: &closed)
        #expect(String(decoding: closed.bytes, as: UTF8.self).contains(",entry_time=100t,exit_time=200t,"))
        #expect(String(decoding: closed.bytes, as: UTF8.self).hasSuffix(",entry_index=4i,exit_index=9i 7\n"))
    }

    @Test func sessionRowsDecode() throws {
        var statistics = BacktestStatistics()
        statistics.sharpeRatio = .infinity
        var record = Self.record
        record.statistics = statistics
        record.completedAt = 1_700_000_000_000_099
        record.state = .completed
        // The columns of QuestDBSchema.sessionColumns, as QuestDB returns them.
        let row: [PGValue] = [
            .text("s 1"), .text("completed"), .text("GO,OG"), .text("1d"), .timestampMicros(1_000_000),
            .timestampMicros(2_000_000),
            .text("sma \"x\""), .double(0), .text("AAEC/w=="), .null, .text("{\"k\":\"v\"}"), .double(42.5),
            .timestampMicros(1_500_000), .int(7), .double(-1.25), .int(2), .null,
            .text(try SessionJSON.encode(statistics)), .timestampMicros(1_700_000_000_000_000),
            .timestampMicros(1_700_000_000_000_005),
            .timestampMicros(1_700_000_000_000_099), .text(""), .null,
        ]
        let decoded = try QuestDBRows.session(row)
        #expect(decoded == record)
        #expect(decoded.winRatePct.isNaN)
        #expect(decoded.statistics?.sharpeRatio == .infinity)
        var bad = row
        bad[1] = .text("paused")
        #expect(throws: StoreError.failed("session s 1 has unknown state \"paused\"")) { try QuestDBRows.session(bad) }
        #expect(throws: StoreError.self) { try QuestDBRows.session(Array(row.dropLast())) }
    }

    @Test func resultAndMarketRowsDecode() throws {
        let (key, trade) = try QuestDBRows.trade([
            .timestampMicros(99), .int(4), .text("long"), .double(2), .timestampMicros(10), .null, .double(1),
            .double(2), .double(2),
            .double(100), .null, .text("a"), .text("END"), .int(3), .null,
        ])
        #expect(key == 99)
        #expect(
            trade.number == 4 && trade.side == .long && trade.entryTime == 10 && trade.exitTime == nil
                && trade.exitIndex == nil)
        #expect(trade.commission.isNaN && trade.exitRule == "END")
        let equity = try QuestDBRows.equity([
            .timestampMicros(77), .timestampMicros(5), .double(1), .double(2), .double(3), .double(-4),
        ])
        #expect(
            equity.key == 77
                && equity.sample == EquitySample(time: 5, equity: 1, cash: 2, positionSize: 3, drawdownPct: -4))
        #expect(
            try QuestDBRows.candle([
                .timestampMicros(-60), .double(1), .double(2), .double(0.5), .double(1.5), .double(0),
            ])
                == Candle(time: -60, open: 1, high: 2, low: 0.5, close: 1.5, volume: 0))
        let (tick, seq) = try QuestDBRows.tick([.timestampMicros(7), .int(3), .double(9.5), .double(1)])
        #expect(tick == Tick(time: 7, price: 9.5, size: 1) && seq == 3)
        #expect(throws: StoreError.self) {
            try QuestDBRows.candle([.null, .double(1), .double(2), .double(0.5), .double(1.5), .double(0)])
        }
    }

    static let sweep = SweepRecord(
        id: "w 1", state: .running, symbol: "GO,OG", timeframe: "1d",
        range: TimeRange(start: 1_000_000, end: 2_000_000),
        strategyName: "sma", request: [0, 1, 2, 255], objective: "sharpe_ratio", maximize: true, total: 10, done: 3,
        failed: 1, topK: 2, bestCombination: 4, bestValue: 1.25, createdAt: 1_700_000_000_000_000,
        startedAt: 1_700_000_000_000_005)

    @Test func sweepLineBytesAndRowsDecode() throws {
        var buffer = ILPBuffer()
        try QuestDBRows.appendSweep(Self.sweep, owner: "node 1", to: &buffer)
        let expected =
            #"backtest_sweeps,state=running,owner=node\ 1,symbol=GO\,OG sweep_id="w 1",timeframe="1d",range_start=1000000t,range_end=2000000t,strategy_name="sma",request_b64="AAEC/w==",objective="sharpe_ratio",maximize=t,total=10i,done=3i,failed=1i,top_k=2i,best_combination=4i,best_value=1.25,started_at=1700000000000005t,error_message="",stop_reason="",stitched_session_id="" 1700000000000000"#
            + "\n"
        #expect(String(decoding: buffer.bytes, as: UTF8.self) == expected)
        // The columns of QuestDBSchema.sweepColumns, as QuestDB returns them.
        var stitched = BacktestStatistics()
        stitched.profitFactor = .infinity
        let row: [PGValue] = [
            .text("w 1"), .text("completed"), .text("GO,OG"), .text("1d"), .timestampMicros(1_000_000),
            .timestampMicros(2_000_000), .text("sma"), .text("AAEC/w=="), .text("sharpe_ratio"), .bool(false),
            .int(10), .int(10), .int(1), .int(2), .null, .null, .timestampMicros(1_700_000_000_000_000),
            .timestampMicros(1_700_000_000_000_005), .timestampMicros(1_700_000_000_000_099), .text(""), .null,
            .text(try SessionJSON.encode(stitched)), .text("s-9"),
        ]
        var record = Self.sweep
        record.state = .completed
        record.maximize = false
        record.done = 10
        record.bestCombination = nil
        record.bestValue = .nan
        record.completedAt = 1_700_000_000_000_099
        record.stitchedStatistics = stitched
        record.stitchedSessionId = "s-9"
        #expect(try QuestDBRows.sweep(row) == record)
        #expect(throws: StoreError.self) { try QuestDBRows.sweep(Array(row.dropLast())) }
    }

    /// Every statistic has its column (a new one must be added there), and the values
    /// come back as they went, infinities included; NaN is NULL in QuestDB.
    @Test func everyStatisticHasAColumnAndRoundTrips() throws {
        let json = try SessionJSON.encode(BacktestStatistics())
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]).keys
        #expect(Set(keys) == Set(QuestDBStatistics.columns.map(\.key)))
        #expect(Set(QuestDBStatistics.columns.map(\.name)).count == QuestDBStatistics.columns.count)
        var s = BacktestStatistics()
        s.start = 1_092_873_600_000_000
        s.end = 1_246_320_000_000_000
        s.sharpeRatio = .infinity
        s.sortinoRatio = -.infinity
        s.totalTrades = 12
        s.maxTradeDurationMicros = 86_400_000_000
        s.commissions = 3.5
        // What QuestDB returns for these ILP fields: NaN stored as NULL.
        let values: [PGValue] = QuestDBStatistics.fields(s).map { _, value in
            switch value {
            case .double(let d): return d.isNaN ? .null : .double(d)
            case .long(let i): return .int(i)
            default: return .null
            }
        }
        #expect(try QuestDBStatistics.read(values[...]) == s)
        let row = SweepResultRow(
            combination: 3, params: [SweepParam(name: "n1", value: 5), SweepParam(name: "n2", value: 0.1)],
            statistics: s, sessionId: "s-1")
        #expect(
            try QuestDBRows.sweepResult(
                [.int(3), .text("n1=5.0,n2=0.1"), .bool(true), .text(""), .text("s-1")] + values) == row)
        let failed = try QuestDBRows.sweepResult(
            [.int(4), .text(""), .bool(false), .text("engine: boom"), .null]
                + Array(repeating: .null, count: QuestDBStatistics.columns.count))
        #expect(failed == SweepResultRow(combination: 4, params: [], statistics: nil, error: "engine: boom"))
        var buffer = ILPBuffer()
        try QuestDBRows.appendSweepResult(sweepId: "w 1", key: 7, failed, to: &buffer)
        #expect(
            String(decoding: buffer.bytes, as: UTF8.self)
                == "backtest_sweep_results,sweep_id=w\\ 1 combination=4i,params=\"\",has_statistics=f,error=\"engine: boom\",session_id=\"\" 7\n"
        )
    }

    @Test func tickPagingNeverSplitsAMicrosecond() {
        func t(_ time: Int64, _ seq: Int64) -> (Tick, Int64) {
            (Tick(time: time, price: Double(seq + 1), size: 1), seq)
        }
        // Short batch: everything, same-time ticks in seq order.
        #expect(
            TickPaging.step([t(1, 1), t(1, 0), t(2, 0)], limit: 5)
                == .emit([t(1, 0).0, t(1, 1).0, t(2, 0).0], nextFrom: nil))
        // Full batch: the last time is read again by the next batch.
        #expect(
            TickPaging.step([t(1, 0), t(2, 0), t(3, 0), t(3, 1)], limit: 4)
                == .emit([t(1, 0).0, t(2, 0).0], nextFrom: 3))
        // A full batch of one time: fetch that time whole.
        #expect(TickPaging.step([t(3, 0), t(3, 1)], limit: 2) == .fetchAll(at: 3))
        #expect(TickPaging.step([], limit: 2) == .emit([], nextFrom: nil))
    }

    @Test func importChecks() {
        #expect(ImportCheck.check(imported: [1, 2, 3], stored: [], replace: false) == .ok)
        // Stored rows at other times inside the range are merged.
        #expect(ImportCheck.check(imported: [1, 3, 5], stored: [2, 4], replace: false) == .ok)
        #expect(
            ImportCheck.check(imported: [1, 3, 5], stored: [2, 3, 5], replace: false) == .conflict(rows: 2, first: 3))
        // Ticks: two stored at time 3, one imported there -> both stored rows conflict.
        #expect(ImportCheck.check(imported: [3], stored: [3, 3], replace: false) == .conflict(rows: 2, first: 3))
        // Replace covering every stored key overwrites them all.
        #expect(ImportCheck.check(imported: [1, 2, 2, 3], stored: [1, 2, 2], replace: true) == .ok)
        // Replace leaving stored keys uncovered is refused (no DELETE in QuestDB).
        #expect(
            ImportCheck.check(imported: [1, 3], stored: [1, 2, 3], replace: true) == .leftovers(rows: 1, first: 2))
        #expect(ImportCheck.check(imported: [2], stored: [2, 2, 2], replace: true) == .leftovers(rows: 2, first: 2))
    }

    @Test func walProgress() throws {
        let (first, target) = try WALVisibility.progress([.bool(false), .int(4), .int(6)], target: nil)
        #expect(first == .pending(writerTxn: 4, sequencerTxn: 6) && target == 6)
        // Later writes by others move sequencerTxn on; the goal stays what it was.
        #expect(try WALVisibility.progress([.bool(false), .int(6), .int(9)], target: 6).0 == .applied)
        #expect(
            try WALVisibility.progress([.bool(true), .int(5), .int(9)], target: 6).0
                == .suspended(writerTxn: 5, sequencerTxn: 9))
        #expect(try WALVisibility.progress([.bool(true), .int(9), .int(9)], target: nil).0 == .applied)
        #expect(throws: StoreError.self) { try WALVisibility.progress([.text("x"), .int(1), .int(1)], target: nil) }

        let visibility = WALVisibility()
        #expect(visibility.pending("t") == nil)
        visibility.wrote("t")
        visibility.wrote("t")
        #expect(visibility.pending("t") == 2)
        visibility.confirmed("t", upTo: 1)
        #expect(visibility.pending("t") == 2)
        visibility.confirmed("t", upTo: 2)
        #expect(visibility.pending("t") == nil)
        visibility.confirmed("t", upTo: 1)  // a late, older confirmation does not go back
        #expect(visibility.pending("t") == nil)
    }

    @Test func pageTokenCarriesTheKeysetOfTheQuery() throws {
        var q = SessionQuery()
        q.symbol = "x'y"
        let hash = PageToken.filterHash(q)
        let token = PageToken(createdAt: 1_700_000_000_000_001, id: "id:with:colons", filterHash: hash).encoded()
        let decoded = try PageToken(decoding: token, expectedFilterHash: hash)
        let query = QuestDBSQL.listSessions(q, after: (decoded.createdAt, decoded.id), limit: 3)
        #expect(
            query.parameters.suffix(3) == [
                .timestampMicros(1_700_000_000_000_001), .timestampMicros(1_700_000_000_000_001),
                .text("id:with:colons"),
            ])
        var other = q
        other.symbol = "z"
        #expect(throws: StoreError.self) {
            try PageToken(decoding: token, expectedFilterHash: PageToken.filterHash(other))
        }
    }

    @Test func asyncLockIsExclusiveAndFIFO() async {
        let lock = AsyncLock()
        let log = LockLog()
        await lock.lock()
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    await lock.lock()
                    await log.enter(i)
                    try? await Task.sleep(nanoseconds: 1_000_000)
                    await log.leave()
                    lock.unlock()
                }
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
            lock.unlock()
        }
        #expect(await log.entered.count == 8)
        #expect(await log.maxInside == 1)
    }
}

private actor LockLog {
    var entered: [Int] = []
    var inside = 0
    var maxInside = 0
    func enter(_ i: Int) {
        entered.append(i)
        inside += 1
        maxInside = max(maxInside, inside)
    }
    func leave() { inside -= 1 }
}
