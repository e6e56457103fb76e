import BacktestEngine
import BacktestStore
import Foundation

// store-bench: throughput of the embedded SQLite store on the paths a backtest uses
// (candles read, equity points and trades written) and of market data import (rows
// through the store's import; CSV parse + import). Release build:
//   swift run -c release store-bench [bars] [directory]
// Figures go to BENCHMARKS.md ("Storage").

let arguments = CommandLine.arguments
let bars = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
let directory = arguments.count > 2 ? arguments[2] : FileManager.default.temporaryDirectory.appendingPathComponent("store-bench-\(getpid())").path
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
        let cursor = try await store.candles(symbol: "SYN", timeframe: .candles(seconds: 60), range: TimeRange(start: .min, end: .max), batchSize: batchSize)
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

// 3. Equity points written, one per bar, as a run appends them.
// A position of 100 units that flips every 100 bars, so every column varies.
var peak = 0.0
let points = candles.enumerated().map { i, c -> EquitySample in
    let position = (i / 100) % 2 == 0 ? 100.0 : -100.0
    let equity = 10_000 + position * (c.close - 100)
    peak = max(peak, equity)
    return EquitySample(time: c.time, equity: equity, cash: 10_000 - position * c.close, positionSize: position,
                        drawdownPct: (equity / peak - 1) * 100)
}
for batchSize in [1024, 4096, 16_384] {
    let sessionId = "equity-\(batchSize)"
    let t0 = now()
    var i = 0
    while i < points.count {
        let end = min(i + batchSize, points.count)
        try await store.appendEquity(sessionId: sessionId, Array(points[i..<end]))
        i = end
    }
    report("write equity points (batches of \(batchSize))", rows: bars, seconds: now() - t0)
}
let equityRead = try await best(of: 3) {
    let t0 = now()
    let cursor = try await store.equity(sessionId: "equity-4096", range: TimeRange(start: .min, end: .max), batchSize: 5000)
    var count = 0
    while let batch = try await cursor.next() { count += batch.count }
    precondition(count == bars)
    return now() - t0
}
report("read equity points (batches of 5000)", rows: bars, seconds: equityRead)

// 4. Trades (far fewer than bars in a real run: 100,000 here, batches of 1000).
let tradeCount = min(100_000, bars)
let trades = (0..<tradeCount).map { n in
    TradeRecord(number: n + 1, side: n % 2 == 0 ? .long : .short, quantity: 10, entryTime: candles[n % bars].time,
                exitTime: candles[(n + 1) % bars].time, entryPrice: 100, exitPrice: 101, pnl: 10, returnPct: 1,
                commission: 0.1, entryRule: "S1", exitRule: "ZE1", entryIndex: n, exitIndex: n + 1)
}
seconds = now()
var t = 0
while t < trades.count {
    let end = min(t + 1000, trades.count)
    try await store.appendTrades(sessionId: "trades", Array(trades[t..<end]))
    t = end
}
report("write trades (batches of 1000)", rows: tradeCount, seconds: now() - seconds)
seconds = now()
var tradesRead = 0
let tradeCursor = try await store.trades(sessionId: "trades", batchSize: 1000)
while let batch = try await tradeCursor.next() { tradesRead += batch.count }
report("read trades (batches of 1000)", rows: tradesRead, seconds: now() - seconds)

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
let csvImporter = MarketDataImporter(store: store, symbol: "CSV", timeframe: "1m", replaceExisting: false, source: "bench.csv")
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
let builtCursor = try await store.candles(symbol: "TICKS", timeframe: .candles(seconds: 60), range: TimeRange(start: .min, end: .max), batchSize: 8192)
while let batch = try await builtCursor.next() { built += batch.count }
report("candles from ticks (ticks in, \(built) candles out)", rows: tickCount, seconds: now() - seconds)
await store.close()

// 7. The per-row layout the chunks replace, for comparison.
let rowCount = min(bars, 200_000)
let baseline = try SQLiteRowBaseline.measure(path: directory + "/rows.sqlite", rows: rowCount, clock: now)
print("per-row table baseline (one transaction)            " + String(format: " %10d rows %14.0f rows/s insert %14.0f rows/s read", rowCount, baseline.insert, baseline.read))
let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/bench.sqlite")[.size] as? Int) ?? 0
print("database file: \(size / 1_000_000) MB")
