import BacktestEngine
import BacktestStore
import Foundation

// store-bench: throughput of the embedded SQLite store on the paths a backtest uses
// (candles read, equity points and trades written) and of market data import (rows
// through the store's import; CSV parse + import). Release build:
//   swift run -c release store-bench [bars] [directory]
//   swift run -c release store-bench wal [sessions] [directory]   (WALBench.swift)
// Figures go to BENCHMARKS.md ("Storage").

let arguments = CommandLine.arguments
// `store-bench wal [sessions] [directory]`: WAL and database size over many short sessions.
if arguments.count > 1 && arguments[1] == "wal" {
    let directory =
        arguments.count > 3
        ? arguments[3]
        : FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-wal-\(getpid())").path
    try? FileManager.default.removeItem(atPath: directory)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let sessions = arguments.count > 2 ? Int(arguments[2]) ?? 2_000 : 2_000
    try await WALBench(sessions: sessions, directory: directory).run()
    try? FileManager.default.removeItem(atPath: directory)
    exit(0)
}
let bars = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
let directory =
    arguments.count > 2
    ? arguments[2] : FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-\(getpid())").path
try? FileManager.default.removeItem(atPath: directory)
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func report(_ name: String, rows: Int, seconds: Double) {
    let rate = Double(rows) / seconds
    let padded = name.count < 52 ? name + String(repeating: " ", count: 52 - name.count) : name
    print(padded + String(format: " %10d rows %8.3f s %14.0f rows/s", rows, seconds, rate))
}

func best(of runs: Int, _ body: () async throws -> Double) async throws -> Double {
    var best = Double.infinity
    for _ in 0..<runs { best = min(best, try await body()) }
    return best
}

var generator = SyntheticMarketData(seed: 42)
let candles = generator.candles(count: bars)
let store = try SQLiteStore(path: directory + "/bench.sqlite")
print("store-bench: \(bars) 1-minute bars, SQLite at \(directory)")

// 1. Import of parsed rows (what ImportMarketData with row batches does).
var seconds = now()
let importer = try await store.beginImport(symbol: "SYN", kind: .candles, timeframe: "1m", replaceExisting: false)
var start = 0
while start < candles.count {
    let end = min(start + 8192, candles.count)
    try await importer.append(candles: Array(candles[start..<end]))
    start = end
}
_ = try await importer.commit()
report("import candles (rows, batches of 8192)", rows: bars, seconds: now() - seconds)

// 2. Candles read back, as a run does (batches of 8192).
for batchSize in [8192, 65_536] {
    let elapsed = try await best(of: 3) {
        let t0 = now()
        let cursor = try await store.candles(
            symbol: "SYN", timeframe: .candles(seconds: 60), range: TimeRange(start: .min, end: .max),
            batchSize: batchSize)
        var count = 0
        var checksum = 0.0
        while let batch = try await cursor.next() {
            count += batch.count
            checksum += batch[batch.count - 1].close
        }
        precondition(count == bars && checksum > 0)
        return now() - t0
    }
    report("read candles (batches of \(batchSize))", rows: bars, seconds: elapsed)
}

// 3. Equity points written, one per bar, as a run appends them: a position of 100
// units that flips every 100 bars (cash changes at the flips only, as in a run), equity
// marked to the close, drawdown from the running peak as the engine computes it.
var peak = -Double.infinity
var cash = 10_000.0
let points = candles.enumerated().map { i, c -> EquitySample in
    let position = (i / 100) % 2 == 0 ? 100.0 : -100.0
    if i % 100 == 0 { cash = 10_000 - position * c.close }
    let equity = cash + position * c.close
    peak = max(peak, equity)
    let dd = 1 - equity / peak
    return EquitySample(
        time: c.time, equity: equity, cash: cash, positionSize: position, drawdownPct: dd == 0 ? 0 : -dd * 100)
}
// Best of 3 (a fresh session each time): the machine is shared, single runs vary.
var run = 0
for batchSize in [1024, 4096, 16_384, 65_536] {
    let batches = stride(from: 0, to: points.count, by: batchSize).map {
        Array(points[$0..<min($0 + batchSize, points.count)])
    }
    let elapsed = try await best(of: 3) {
        run += 1
        let sessionId = run % 3 == 0 ? "equity-\(batchSize)" : "equity-\(batchSize)-\(run)"
        let t0 = now()
        for batch in batches { try await store.appendEquity(sessionId: sessionId, batch) }
        return now() - t0
    }
    report("write equity points (batches of \(batchSize))", rows: bars, seconds: elapsed)
}
let equityBytes = try await store.equityBytes(sessionId: "equity-65536")
print(String(format: "equity chunk bytes per point: %.2f", Double(equityBytes) / Double(bars)))
let equityRead = try await best(of: 3) {
    let t0 = now()
    let cursor = try await store.equity(
        sessionId: "equity-4096", range: TimeRange(start: .min, end: .max), batchSize: 5000)
    var count = 0
    while let batch = try await cursor.next() { count += batch.count }
    precondition(count == bars)
    return now() - t0
}
report("read equity points (batches of 5000)", rows: bars, seconds: equityRead)

// 4. Trades (far fewer than bars in a real run: 100,000 here, batches of 1000).
let tradeCount = min(100_000, bars)
let trades = (0..<tradeCount).map { n in
    TradeRecord(
        number: n + 1, side: n % 2 == 0 ? .long : .short, quantity: 10, entryTime: candles[n % bars].time,
        exitTime: candles[(n + 1) % bars].time, entryPrice: 100, exitPrice: 101, pnl: 10, returnPct: 1,
        commission: 0.1, entryRule: "S1", exitRule: "ZE1", entryIndex: n, exitIndex: n + 1)
}
for tradeBatch in [1000, 4096] {
    let batches = stride(from: 0, to: trades.count, by: tradeBatch).map {
        Array(trades[$0..<min($0 + tradeBatch, trades.count)])
    }
    let elapsed = try await best(of: 3) {
        run += 1
        let sessionId = run % 3 == 0 ? "trades-\(tradeBatch)" : "trades-\(tradeBatch)-\(run)"
        let t0 = now()
        for batch in batches { try await store.appendTrades(sessionId: sessionId, batch) }
        return now() - t0
    }
    report("write trades (batches of \(tradeBatch))", rows: tradeCount, seconds: elapsed)
}
// A re-appended batch (numbers already stored): the rare rewrite path.
seconds = now()
try await store.appendTrades(sessionId: "trades-1000", Array(trades[50_000..<min(51_000, trades.count)]))
report(
    "re-append 1000 stored trades (rewrite)", rows: min(1000, max(0, trades.count - 50_000)), seconds: now() - seconds)
let tradesReadTime = try await best(of: 3) {
    let t0 = now()
    var tradesRead = 0
    let tradeCursor = try await store.trades(sessionId: "trades-1000", batchSize: 1000)
    while let batch = try await tradeCursor.next() { tradesRead += batch.count }
    precondition(tradesRead == tradeCount)
    return now() - t0
}
report("read trades (batches of 1000)", rows: tradeCount, seconds: tradesReadTime)

// 4b. A real run's results: the engine's sma_cross 10/20 over the same bars (~55,000
// trades per million bars), stored as the service does (equity in appends of 65536,
// the trades of each stretch before it).
do {
    let engine = try Engine(
        config: BacktestConfig(
            initialCapital: 1_000_000,
            strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])))
    var runEquity: [[EquitySample]] = []
    var runTrades: [[TradeRecord]] = []
    try candles.withUnsafeBufferPointer { all in
        var i = 0
        while i < all.count {
            let end = min(all.count, i + 65_536)
            try engine.process(candles: UnsafeBufferPointer(rebasing: all[i..<end]))
            runTrades.append(engine.takeTrades())
            runEquity.append(engine.takeEquity())
            i = end
        }
        _ = engine.finish()
        runTrades[runTrades.count - 1] += engine.takeTrades()
        runEquity[runEquity.count - 1] += engine.takeEquity()
    }
    let pointCount = runEquity.reduce(0) { $0 + $1.count }
    let tradeTotal = runTrades.reduce(0) { $0 + $1.count }
    let elapsed = try await best(of: 3) {
        run += 1
        let t0 = now()
        for (t, e) in zip(runTrades, runEquity) {
            try await store.appendTrades(sessionId: "run-\(run)", t)
            try await store.appendEquity(sessionId: "run-\(run)", e)
        }
        return now() - t0
    }
    report("store a run: \(tradeTotal) trades + equity points", rows: pointCount, seconds: elapsed)
    let bytes = try await store.equityBytes(sessionId: "run-\(run)")
    print(String(format: "  sma_cross equity chunk bytes per point: %.2f", Double(bytes) / Double(pointCount)))
}

// 5. CSV text (as a client uploads it) parsed and imported, in 64 KiB chunks.
var csv = "time,open,high,low,close,volume\n"
csv.reserveCapacity(bars * 60)
for c in candles { csv += "\(c.time / 1_000_000),\(c.open),\(c.high),\(c.low),\(c.close),\(c.volume)\n" }
let csvBytes = Array(csv.utf8)
let parseOnly = try await best(of: 3) {
    let t0 = now()
    var parser = CSVMarketDataParser(source: "bench.csv")
    var rows = 0
    var i = 0
    while i < csvBytes.count {
        let end = min(i + 65_536, csvBytes.count)
        for batch in try parser.feed(csvBytes[i..<end]) { rows += batch.count }
        i = end
    }
    for batch in try parser.finish() { rows += batch.count }
    precondition(rows == bars)
    return now() - t0
}
report("parse CSV only (\(csvBytes.count / 1_000_000) MB)", rows: bars, seconds: parseOnly)
seconds = now()
let csvImporter = MarketDataImporter(
    store: store, symbol: "CSV", timeframe: "1m", replaceExisting: false, source: "bench.csv")
var offset = 0
while offset < csvBytes.count {
    let end = min(offset + 65_536, csvBytes.count)
    try await csvImporter.feed(csv: csvBytes[offset..<end])
    offset = end
}
let imported = try await csvImporter.finish()
precondition(imported.rows == UInt64(bars))
report("import CSV (parse + store, 64 KiB chunks)", rows: bars, seconds: now() - seconds)

// 6. Candles built from ticks (a tick-only series read as 1-minute candles).
let ticks = generator.ticks(count: bars)
let tickImport = try await store.beginImport(symbol: "TICKS", kind: .ticks, timeframe: "", replaceExisting: false)
try await tickImport.append(ticks: ticks)
_ = try await tickImport.commit()
seconds = now()
var tickCount = 0
let tickCursor = try await store.ticks(symbol: "TICKS", range: TimeRange(start: .min, end: .max), batchSize: 8192)
while let batch = try await tickCursor.next() { tickCount += batch.count }
report("read ticks (batches of 8192)", rows: tickCount, seconds: now() - seconds)
seconds = now()
var built = 0
let builtCursor = try await store.candles(
    symbol: "TICKS", timeframe: .candles(seconds: 60), range: TimeRange(start: .min, end: .max), batchSize: 8192)
while let batch = try await builtCursor.next() { built += batch.count }
report("candles from ticks (ticks in, \(built) candles out)", rows: tickCount, seconds: now() - seconds)
await store.close()

// 7. The per-row layout the chunks replace, for comparison.
let rowCount = min(bars, 200_000)
let baseline = try SQLiteRowBaseline.measure(path: directory + "/rows.sqlite", rows: rowCount, clock: now)
print(
    "per-row table baseline (one transaction)            "
        + String(format: " %10d rows %14.0f rows/s insert %14.0f rows/s read", rowCount, baseline.insert, baseline.read)
)
let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/bench.sqlite")[.size] as? Int) ?? 0
print("database file: \(size / 1_000_000) MB")

// 9. QuestDB, when one is reachable (QUESTDB_HTTP and QUESTDB_PG; QUESTDB_LOG names its
// server.log for the WAL-apply figures): QuestDBBench.swift.
let environment = ProcessInfo.processInfo.environment
if let http = environment["QUESTDB_HTTP"], let pg = environment["QUESTDB_PG"], !http.isEmpty, !pg.isEmpty {
    try await QuestDBBench(http: http, pg: pg, log: environment["QUESTDB_LOG"], directory: directory)
        .run(candles: candles, points: points, trades: trades)
} else {
    print("QuestDB: skipped (set QUESTDB_HTTP and QUESTDB_PG to measure it)")
}
