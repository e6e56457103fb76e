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

        var t0 = now()
        let load = try await store.beginImport(symbol: symbol, kind: .candles, timeframe: "1m", replaceExisting: false)
        for start in stride(from: 0, to: candles.count, by: 65_536) {
            try await load.append(candles: Array(candles[start..<min(start + 65_536, candles.count)]))
        }
        _ = try await load.commit()
        report("QuestDB: import candles (one /write, visible)", rows: candles.count, seconds: now() - t0)

        t0 = now()
        let cursor = try await store.candles(symbol: symbol, timeframe: .candles(seconds: 60), range: TimeRange(start: .min, end: .max), batchSize: 65_536)
        var read = 0
        while let batch = try await cursor.next() { read += batch.count }
        report("QuestDB: read candles (PG wire, batches of 65536)", rows: read, seconds: now() - t0)

        // Equity: the store's writer (encode + send in ~4 MiB requests), then curl posting
        // the same encoder's bytes for fresh keys in one request, then the writer again.
        for round in 1...2 {
            let session = "bench-\(getpid())-equity-\(round)"
            t0 = now()
            for offset in stride(from: 0, to: points.count, by: 65_536) {
                try await store.appendEquity(sessionId: session, startingAt: UInt64(offset), Array(points[offset..<min(offset + 65_536, points.count)]))
            }
            report("QuestDB: write equity points (ILP writer, acknowledged)", rows: points.count, seconds: now() - t0)
            try await store.sync()
            if round == 1 { try curl(points) }
        }
        t0 = now()
        try await store.appendTrades(sessionId: "bench-\(getpid())-trades", trades)
        try await store.sync()
        report("QuestDB: write trades (ILP, visible)", rows: trades.count, seconds: now() - t0)

        try await sessions(store, points: Array(points.prefix(10_000)), trades: Array(trades.prefix(50)))
        await store.close()
        if let log { walApply(log, from: logStart) }
    }

    /// curl posting the bytes the writer would send, as one request.
    func curl(_ points: [EquitySample]) throws {
        let bytes = try QuestDBStore.equityLines(sessionId: "bench-\(getpid())-curl", firstKey: Int64(Date().timeIntervalSince1970 * 1e6) + 10_000_000, points)
        let file = directory + "/equity.ilp"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:", "--data-binary", "@" + file, http + "/write?precision=us"]
        let t0 = now()
        try process.run()
        process.waitUntilExit()
        report("QuestDB: curl posting the same \(bytes.count / 1_000_000) MB (one request)", rows: points.count, seconds: now() - t0)
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
        print(String(format: "QuestDB: 100 sessions of %d points + %d trades, written and visible: first 10 %.1f ms each, last 10 %.1f ms each",
                     points.count, trades.count, first * 1000, last * 1000))
    }

    /// QuestDB's `ApplyWal2TableJob job finished` lines for the results tables since
    /// `offset`: the written-rows multiplier (1.0 = pure appends) and the apply time.
    func walApply(_ path: String, from offset: Int) {
        guard let handle = FileHandle(forReadingAtPath: path) else { print("QuestDB log \(path): unreadable"); return }
        defer { try? handle.close() }
        try? handle.seek(toOffset: UInt64(offset))
        let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        for table in ["backtest_equity_curve", "backtest_trades"] {
            var multipliers: [Double] = []
            var millis: [Double] = []
            for line in text.split(separator: "\n") where line.contains("ApplyWal2TableJob job finished") && line.contains("table=\(table)~") {
                func value(_ key: String) -> Double? {
                    guard let r = line.range(of: key + "=") else { return nil }
                    return Double(line[r.upperBound...].prefix { $0.isNumber || $0 == "." })
                }
                if let m = value("physicalWrittenRowsMultiplier") { multipliers.append(m) }
                if let t = value("time") { millis.append(t) }
            }
            guard !multipliers.isEmpty else { print("QuestDB \(table): no WAL apply lines in \(path)"); continue }
            let tail = millis.suffix(10), head = millis.prefix(10)
            print(String(format: "QuestDB %@: %d WAL applies, physicalWrittenRowsMultiplier max %.2f mean %.3f; apply time first 10 %.1f ms, last 10 %.1f ms",
                         table, multipliers.count, multipliers.max()!, multipliers.reduce(0, +) / Double(multipliers.count),
                         head.reduce(0, +) / Double(max(1, head.count)), tail.reduce(0, +) / Double(max(1, tail.count))))
        }
    }
}
