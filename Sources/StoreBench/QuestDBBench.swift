import BacktestEngine
import BacktestStore
import Foundation

/// The QuestDB part of store-bench: import, candle reads, equity writes against curl
/// posting the same bytes, and 100 stored sessions with what QuestDB's WAL apply says
/// about them (written-rows multiplier, apply time) when its log is given.
struct QuestDBBench {
    let http: String
    let pg: String
    let log: String?
    let directory: String

    func run(candles: [Candle], points: [EquitySample], trades: [TradeRecord]) async throws {
        var options = QuestDBStore.Options()
        options.owner = "store-bench-\(getpid())"
        options.spoolDirectory = directory + "/questdb-spool"
        let store = try await QuestDBStore(httpURL: http, pgURL: pg, options: options)
        let logStart = log.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int } ?? 0
        let symbol = "BENCH\(getpid())"

        // Import: rows appended as an upload delivers them (validated and encoded then),
        // then the commit (conflict check, one /write, visible). Full-precision random-walk
        // prices, then the same rounded to cents as exchange prices are.
        var t0 = now()
        let cents = candles.map { c in
            Candle(
                time: c.time, open: (c.open * 100).rounded() / 100, high: (c.high * 100).rounded(.up) / 100,
                low: (c.low * 100).rounded(.down) / 100, close: (c.close * 100).rounded() / 100,
                volume: c.volume.rounded())
        }
        for (label, rows, name) in [
            ("full-precision prices", candles, symbol), ("prices in cents", cents, symbol + "C"),
        ] {
            t0 = now()
            let load = try await store.beginImport(
                symbol: name, kind: .candles, timeframe: "1m", replaceExisting: false)
            for start in stride(from: 0, to: rows.count, by: 65_536) {
                try await load.append(candles: Array(rows[start..<min(start + 65_536, rows.count)]))
            }
            let appended = now()
            _ = try await load.commit()
            let end = now()
            report("QuestDB: import candles, \(label) (visible)", rows: rows.count, seconds: end - t0)
            print(
                String(
                    format:
                        "  of which append (validate + encode) %.3f s, commit (check + one /write + visible) %.3f s",
                    appended - t0, end - appended))
        }

        t0 = now()
        let cursor = try await store.candles(
            symbol: symbol, timeframe: .candles(seconds: 60), range: TimeRange(start: .min, end: .max),
            batchSize: 65_536)
        var read = 0
        while let batch = try await cursor.next() { read += batch.count }
        report("QuestDB: read candles (PG wire, batches of 65536)", rows: read, seconds: now() - t0)

        // Equity: the store's writer (encode + send in ~4 MiB requests), then curl posting
        // the same encoder's bytes for fresh keys in one request, then the writer again.
        for round in 1...2 {
            let session = "bench-\(getpid())-equity-\(round)"
            t0 = now()
            for offset in stride(from: 0, to: points.count, by: 65_536) {
                try await store.appendEquity(
                    sessionId: session, startingAt: UInt64(offset),
                    Array(points[offset..<min(offset + 65_536, points.count)]))
            }
            report("QuestDB: write equity points (ILP writer, acknowledged)", rows: points.count, seconds: now() - t0)
            try await store.sync()
            report("QuestDB: write equity points (ILP writer, visible)", rows: points.count, seconds: now() - t0)
            if round == 1 { try await curl(points) }
        }
        t0 = now()
        try await store.appendTrades(sessionId: "bench-\(getpid())-trades", trades)
        try await store.sync()
        report("QuestDB: write trades (ILP, visible)", rows: trades.count, seconds: now() - t0)

        let sessionsStart = log.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int } ?? 0
        try await sessions(store, points: Array(points.prefix(10_000)), trades: Array(trades.prefix(50)))
        await store.close()
        if let log {
            print("QuestDB WAL applies of the whole run:")
            walApply(log, from: logStart)
            print("QuestDB WAL applies of the 100 sessions:")
            walApply(log, from: sessionsStart)
        }
    }

    /// curl posting the bytes the writer would send, as one request.
    func curl(_ points: [EquitySample]) async throws {
        let e0 = now()
        // Keys two days back: a partition of their own, so neither these rows nor the
        // store's later ones are merged into the other's.
        let bytes = try QuestDBStore.equityLines(
            sessionId: "bench-\(getpid())-curl",
            firstKey: Int64(Date().timeIntervalSince1970 * 1e6) - 2 * 86_400_000_000, points)
        report("QuestDB: encode equity points as ILP (no I/O)", rows: points.count, seconds: now() - e0)
        let file = directory + "/equity.ilp"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = [
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:", "--data-binary", "@" + file,
            http + "/write?precision=us",
        ]
        let t0 = now()
        try process.run()
        process.waitUntilExit()
        report(
            "QuestDB: curl posting the same \(bytes.count / 1_000_000) MB (one request, acknowledged)",
            rows: points.count, seconds: now() - t0)
        // Visible: QuestDB's WAL applied up to the sequencer's last transaction.
        let db = try PGConnection(url: pg + (pg.contains("?") ? "&" : "?") + "sslmode=disable")
        defer { db.close() }
        while true {
            let row =
                try db.query("SELECT writerTxn, sequencerTxn FROM wal_tables() WHERE name = 'backtest_equity_curve'")
                .rows.first ?? []
            if row.count == 2, let w = row[0].int, let s = row[1].int, w >= s { break }
            usleep(1000)
        }
        report("QuestDB: curl posting the same bytes (visible)", rows: points.count, seconds: now() - t0)
        // The store's HTTP client sending bytes already encoded, one request, as curl does
        // (fresh keys: three days back).
        let again = try QuestDBStore.equityLines(
            sessionId: "bench-\(getpid())-writer",
            firstKey: Int64(Date().timeIntervalSince1970 * 1e6) - 3 * 86_400_000_000, points)
        let w0 = now()
        try await ILPHTTPWriter(baseURL: http).write(again)
        report(
            "QuestDB: ILP writer sending the same bytes (one request, acknowledged)", rows: points.count,
            seconds: now() - w0)
    }

    /// 100 sessions' results stored one after another; the time each takes to be written
    /// and visible should not grow with the number stored.
    func sessions(_ store: QuestDBStore, points: [EquitySample], trades: [TradeRecord]) async throws {
        var times: [Double] = []
        for i in 0..<100 {
            let id = "bench-\(getpid())-session-\(i)"
            let t0 = now()
            try await store.appendTrades(sessionId: id, trades)
            try await store.appendEquity(sessionId: id, startingAt: 0, points)
            try await store.sync()
            times.append(now() - t0)
        }
        let first = times.prefix(10).reduce(0, +) / 10, last = times.suffix(10).reduce(0, +) / 10
        print(
            String(
                format:
                    "QuestDB: 100 sessions of %d points + %d trades, written and visible: first 10 %.1f ms each, last 10 %.1f ms each",
                points.count, trades.count, first * 1000, last * 1000))
    }

    /// QuestDB's `ApplyWal2TableJob job finished` lines for the results tables since
    /// `offset`: the written-rows multiplier (1.0 = pure appends) and the apply time.
    func walApply(_ path: String, from offset: Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            print("QuestDB log \(path): unreadable")
            return
        }
        defer { try? handle.close() }
        try? handle.seek(toOffset: UInt64(offset))
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        for table in ["backtest_equity_curve", "backtest_trades"] {
            var multipliers: [Double] = []
            var millis: [Double] = []
            for line in text.split(whereSeparator: \.isNewline)
            where line.contains("ApplyWal2TableJob job finished") && line.contains("table=\(table)~") {
                func value(_ key: String) -> Double? {
                    guard let r = line.range(of: key + "=") else { return nil }
                    return Double(line[r.upperBound...].prefix { $0.isNumber || $0 == "." })
                }
                if let m = value("physicalWrittenRowsMultiplier") { multipliers.append(m) }
                if let t = value("time") { millis.append(t) }
            }
            guard !multipliers.isEmpty else {
                print("QuestDB \(table): no WAL apply lines in \(path)")
                continue
            }
            let tail = millis.suffix(10), head = millis.prefix(10)
            print(
                String(
                    format:
                        "  %@: %d WAL applies, physicalWrittenRowsMultiplier max %.2f mean %.3f; apply time first 10 %.1f ms, last 10 %.1f ms",
                    table, multipliers.count, multipliers.max()!, multipliers.reduce(0, +) / Double(multipliers.count),
                    head.reduce(0, +) / Double(max(1, head.count)), tail.reduce(0, +) / Double(max(1, tail.count))))
        }
    }
}
