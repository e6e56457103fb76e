import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// QuestDBStore against a live QuestDB (not installable here): set QUESTDB_HTTP
/// (e.g. http://127.0.0.1:9000) and QUESTDB_PG (e.g.
/// postgresql://admin:quest@127.0.0.1:8812/qdb). Tables persist between runs, so
/// every test uses ids and symbols unique to the run.
let questDBHTTP = ProcessInfo.processInfo.environment["QUESTDB_HTTP"]
let questDBPG = ProcessInfo.processInfo.environment["QUESTDB_PG"]

@Suite(
    .enabled(
        if: questDBHTTP != nil && questDBPG != nil,
        "QUESTDB_HTTP / QUESTDB_PG are unset: live QuestDB tests skipped (e.g. QUESTDB_HTTP=http://127.0.0.1:9000 QUESTDB_PG=postgresql://admin:quest@127.0.0.1:8812/qdb)"
    ),
    .serialized)
struct QuestDBStoreTests {
    let run = String(UUID().uuidString.prefix(8))

    func open() async throws -> QuestDBStore {
        try await QuestDBStore(httpURL: questDBHTTP!, pgURL: questDBPG!)
    }

    func pg() throws -> PGConnection { try PGConnection(url: QuestDBStore.withSSLDisabled(questDBPG!)) }

    @Test func schemaIsCreatedOnceWithItsDedupKeys() async throws {
        let first = try await open()
        await first.close()
        let second = try await open()  // IF NOT EXISTS: opening again is fine
        await second.close()
        let db = try pg()
        let expected: [String: Set<String>] = [
            "backtest_sessions": ["ts", "session_id"], "backtest_trades": ["ts", "session_id"],
            "backtest_equity_curve": ["ts", "session_id"], "market_candles": ["ts", "symbol", "timeframe"],
            "market_ticks": ["ts", "symbol", "seq"], "backtest_deleted_sessions": ["ts", "session_id"],
            "backtest_sweeps": ["ts", "sweep_id"], "backtest_sweep_results": ["ts", "sweep_id"],
            "backtest_walk_forward_windows": ["ts", "sweep_id"], "backtest_deleted_sweeps": ["ts", "sweep_id"],
        ]
        for (table, keys) in expected {
            // table_columns() takes a literal only; these names are the test's own constants.
            let rows = try db.query("SELECT \"column\", upsertKey, designated FROM table_columns('\(table)')").rows
            #expect(Set(rows.filter { $0[1] == .bool(true) }.map { $0[0].text ?? "" }) == keys, "\(table)")
            #expect(rows.filter { $0[2] == .bool(true) }.map { $0[0].text ?? "" } == ["ts"], "\(table)")
        }
    }

    @Test func sessionsSaveGetListAndLatestState() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let base = Int64(Date().timeIntervalSince1970 * 1e6)
        let symbol = "SYM-\(run)"
        var records: [SessionRecord] = []
        for i in 0..<5 {
            records.append(
                sampleSession(
                    id: "qdb-\(run)-\(i)", createdAt: base + Int64(i), state: i == 4 ? .running : .completed,
                    symbol: symbol, labels: ["run": run, "odd": i % 2 == 1 ? "yes" : "no"],
                    clientRequestId: "req-\(run)-\(i % 2)"))
        }
        for r in records { try await store.saveSession(r) }
        // Read-after-write: no sleep, the store waits for the WAL.
        #expect(try await store.session(id: records[2].id) == records[2])
        // A second save of the same session replaces its row (DEDUP on created_at, id).
        var updated = records[4]
        updated.progressPct = 99
        updated.eventsProcessed = 5000
        try await store.saveSession(updated)
        updated.state = .completed
        updated.completedAt = updated.createdAt + 1000
        updated.statistics = records[0].statistics
        try await store.saveSession(updated)
        #expect(try await store.session(id: updated.id) == updated)
        let count = try pg().query("SELECT count() FROM backtest_sessions WHERE session_id = $1", [.text(updated.id)])
            .rows
        #expect(count == [[.int(1)]])
        #expect(try await store.session(id: "qdb-\(run)-missing") == nil)
        // The newest session of a client request id.
        #expect(try await store.session(clientRequestId: "req-\(run)-0")?.id == records[4].id)
        #expect(try await store.session(clientRequestId: "req-\(run)-1")?.id == records[3].id)

        // Listing: newest first, pages of 2 with tokens, filters.
        var query = SessionQuery()
        query.symbol = symbol
        query.pageSize = 2
        var listed: [String] = []
        repeat {
            let page = try await store.listSessions(query)
            #expect(page.sessions.count <= 2)
            listed += page.sessions.map(\.id)
            query.pageToken = page.nextPageToken
        } while !query.pageToken.isEmpty
        #expect(listed == records.reversed().map(\.id))
        var odd = SessionQuery()
        odd.symbol = symbol
        odd.labels = ["odd": "yes", "run": run]
        #expect(try await store.listSessions(odd).sessions.map(\.id) == [records[3].id, records[1].id])
        var window = SessionQuery()
        window.symbol = symbol
        window.createdAfter = base + 1
        window.createdBefore = base + 3
        window.states = [.completed]
        #expect(try await store.listSessions(window).sessions.map(\.id) == [records[2].id, records[1].id])
        // Recovery finds sessions by their current state only.
        let running = records[0]
        var nowRunning = running
        nowRunning.state = .running
        try await store.saveSession(nowRunning)
        let active = try await store.sessions(in: [.running, .started]).filter { $0.symbol == symbol }
        #expect(active.map(\.id) == [running.id])
    }

    @Test func hostileTextRoundTrips() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let base = Int64(Date().timeIntervalSince1970 * 1e6)
        // PG wire text cannot carry NUL; QuestDB's VARCHAR is read over PG wire.
        for (i, text) in SQLiteInjectionTests.nasty.enumerated() where !text.contains("\u{0}") {
            var r = sampleSession(
                id: "qdb-\(run)-nasty-\(i)-\(text)", createdAt: base + Int64(i),
                symbol: text.isEmpty ? "" : "\(run)\(text)",
                labels: [text: text], clientRequestId: text.isEmpty ? "" : "req \(run) \(text)")
            r.strategyName = text
            r.errorMessage = text
            try await store.saveSession(r)
            #expect(try await store.session(id: r.id) == r, "\(text)")
            if !text.isEmpty {
                var q = SessionQuery()
                q.symbol = r.symbol
                q.labels = [text: text]
                #expect(try await store.listSessions(q).sessions.map(\.id) == [r.id], "\(text)")
                #expect(try await store.session(clientRequestId: r.clientRequestId)?.id == r.id)
                // Market data under a hostile symbol.
                let imp = try await store.beginImport(
                    symbol: "\(run)\(text)", kind: .candles, timeframe: "1m", replaceExisting: false)
                let candle = Candle(time: 60_000_000, open: 1, high: 2, low: 0.5, close: 1.5, volume: 3)
                try await imp.append(candles: [candle])
                _ = try await imp.commit()
                let read = try await allRows(
                    try await store.candles(
                        symbol: "\(run)\(text)", timeframe: .candles(seconds: 60),
                        range: TimeRange(start: 0, end: .max), batchSize: 10))
                #expect(read == [candle], "\(text)")
            }
        }
    }

    @Test func tradesAndEquityAreReadBackInOrder() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let session = "qdb-\(run)-results"
        var rng = SyntheticMarketData(seed: 11)
        let start: Int64 = 1_104_537_600_000_000  // 2005, years before "now": out-of-order partitions
        let points = (0..<2500).map { i in
            EquitySample(
                time: start + Int64(i) * 86_400_000_000, equity: 10_000 + rng.nextUnit() * 100, cash: rng.nextUnit(),
                positionSize: Double(i % 3), drawdownPct: -rng.nextUnit())
        }
        try await store.appendEquity(sessionId: session, startingAt: 0, Array(points[0..<1000]))
        try await store.appendEquity(sessionId: session, startingAt: 1000, Array(points[1000..<1001]))
        try await store.appendEquity(sessionId: session, startingAt: 1001, Array(points[1001...]))
        // A retried append (its answer lost) rewrites the same samples: no copies.
        try await store.appendEquity(sessionId: session, startingAt: 1000, Array(points[1000..<1001]))
        let batches = try await allBatches(
            try await store.equity(sessionId: session, range: TimeRange(start: .min / 2, end: .max), batchSize: 1000))
        #expect(batches.map(\.count) == [1000, 1000, 500])
        #expect(batches.flatMap { $0 } == points)
        let window = TimeRange(start: points[10].time, end: points[20].time)
        #expect(
            try await allRows(try await store.equity(sessionId: session, range: window, batchSize: 3))
                == Array(points[10..<20]))

        var trades: [TradeRecord] = []
        for n in 1...30 {
            let entry = start + Int64(n) * 1_000_000
            let open = n == 30
            trades.append(
                TradeRecord(
                    number: n, side: n % 2 == 0 ? .long : .short, quantity: Double(n), entryTime: entry,
                    exitTime: open ? nil : entry + 500, entryPrice: 100, exitPrice: 101, pnl: Double(n) - 15,
                    returnPct: 1, commission: 0.1, entryRule: "enter \(n)", exitRule: open ? "" : "SL",
                    entryIndex: n, exitIndex: open ? nil : n + 1))
        }
        try await store.appendTrades(sessionId: session, Array(trades[0..<20]))
        try await store.appendTrades(sessionId: session, Array(trades[20...]))
        trades[4].pnl = 1234  // re-appended: replaces trade 5
        try await store.appendTrades(sessionId: session, [trades[4]])
        let read = try await allBatches(try await store.trades(sessionId: session, batchSize: 7))
        #expect(read.map(\.count) == [7, 7, 7, 7, 2])
        #expect(read.flatMap { $0 } == trades)
    }

    @Test func marketImportConflictsAndReplace() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let symbol = "CANDLES-\(run)"
        var rng = SyntheticMarketData(seed: 5)
        let candles = rng.candles(count: 3000)
        func load(_ rows: [Candle], replace: Bool = false) async throws -> MarketSeries {
            let imp = try await store.beginImport(
                symbol: symbol, kind: .candles, timeframe: "60s", replaceExisting: replace)
            for start in stride(from: 0, to: rows.count, by: 700) {
                try await imp.append(candles: Array(rows[start..<min(start + 700, rows.count)]))
            }
            return try await imp.commit()
        }
        func read() async throws -> [Candle] {
            try await allRows(
                try await store.candles(
                    symbol: symbol, timeframe: .candles(seconds: 60), range: TimeRange(start: 0, end: .max),
                    batchSize: 1024))
        }
        let series = try await load(candles)
        #expect(
            series
                == MarketSeries(
                    symbol: symbol, kind: .candles, timeframe: "1m", firstTime: candles[0].time,
                    lastTime: candles[2999].time, rows: 3000))
        #expect(try await read() == candles)
        #expect(try await store.marketSeries(symbol: symbol) == [series])
        let mid = TimeRange(start: candles[100].time, end: candles[200].time)
        #expect(
            try await allRows(
                try await store.candles(symbol: symbol, timeframe: .candles(seconds: 60), range: mid, batchSize: 30))
                == Array(candles[100..<200]))

        // A row at a stored time without replace: conflict, nothing written.
        var changed = Array(candles[500..<510])
        for i in changed.indices { changed[i].close = changed[i].low }
        await #expect(throws: StoreError.self) { _ = try await load(changed) }
        #expect(try await read() == candles)
        // Replace at the same times overwrites them.
        _ = try await load(changed, replace: true)
        var expected = candles
        expected.replaceSubrange(500..<510, with: changed)
        #expect(try await read() == expected)
        // Replace that would leave stored rows behind is refused, nothing written.
        let sparse = [changed[0], changed[9]]
        await #expect(throws: StoreError.self) { _ = try await load(sparse, replace: true) }
        #expect(try await read() == expected)
        // An invalid row aborts the import: nothing of it is visible.
        let imp = try await store.beginImport(
            symbol: symbol + "-bad", kind: .candles, timeframe: "1m", replaceExisting: false)
        try await imp.append(candles: Array(candles[0..<10]))
        var broken = candles[10]
        broken.high = broken.low - 1
        await #expect(throws: StoreError.self) { try await imp.append(candles: [broken]) }
        #expect(try await store.marketSeries(symbol: symbol + "-bad") == [])
    }

    @Test func ticksAndCandlesFromTicks() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let symbol = "TICKS-\(run)"
        var rng = SyntheticMarketData(seed: 9)
        let ticks = rng.ticks(count: 20_000)
        #expect(zip(ticks, ticks.dropFirst()).contains { $0.time == $1.time })  // same-microsecond ticks present
        let imp = try await store.beginImport(symbol: symbol, kind: .ticks, timeframe: "", replaceExisting: false)
        for start in stride(from: 0, to: ticks.count, by: 4096) {
            try await imp.append(ticks: Array(ticks[start..<min(start + 4096, ticks.count)]))
        }
        let series = try await imp.commit()
        #expect(series.rows == 20_000)
        let all = TimeRange(start: 0, end: .max)
        // Small batches cut through same-microsecond groups: order and count must hold.
        #expect(try await allRows(try await store.ticks(symbol: symbol, range: all, batchSize: 333)) == ticks)
        for timeframe in ["1m", "7m", "1h"] {
            let tf = try Timeframe(parsing: timeframe)
            var aggregator = TickCandleAggregator(intervalMicros: tf.micros!)
            var expected: [Candle] = []
            aggregator.add(ticks, into: &expected)
            aggregator.finish(into: &expected)
            let got = try await allRows(
                try await store.candles(symbol: symbol, timeframe: tf, range: all, batchSize: 50))
            #expect(got.count == expected.count, "\(timeframe)")
            for (g, e) in zip(got, expected) where g != e {
                // Volume is a sum: QuestDB may add in another order.
                #expect(
                    g.time == e.time && g.open == e.open && g.high == e.high && g.low == e.low && g.close == e.close
                        && abs(g.volume - e.volume) <= 1e-9 * max(1, e.volume), "\(timeframe) \(g) vs \(e)")
            }
        }
        #expect(try await store.marketSeries(symbol: symbol) == [series])
        // Re-importing the same ticks conflicts.
        let again = try await store.beginImport(symbol: symbol, kind: .ticks, timeframe: "", replaceExisting: false)
        try await again.append(ticks: Array(ticks[0..<10]))
        do {
            _ = try await again.commit()
            Issue.record("a re-import of stored ticks was accepted")
        } catch let error as StoreError {
            guard case .conflict = error else {
                Issue.record("expected a conflict, got \(error)")
                return
            }
        }
    }

    @Test func walWaitMakesWritesVisible() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let session = "qdb-\(run)-wal"
        let points = (0..<100).map {
            EquitySample(time: 1_700_000_000_000_000 + Int64($0), equity: 1, cash: 1, positionSize: 0, drawdownPct: 0)
        }
        try await store.appendEquity(sessionId: session, startingAt: 0, points)
        #expect(store.visibility.pending(QuestDBSchema.equity) != nil)
        try await store.awaitVisible(QuestDBSchema.equity)
        #expect(store.visibility.pending(QuestDBSchema.equity) == nil)
        let db = try pg()
        #expect(
            try db.query("SELECT count() FROM backtest_equity_curve WHERE session_id = $1", [.text(session)]).rows == [
                [.int(100)]
            ])

    }
}
