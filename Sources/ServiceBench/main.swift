// End-to-end figures for BENCHMARKS.md: StartBacktest to COMPLETED over stored
// 1-minute bars (results stored and readable), and ListActive latency while two
// unthrottled sessions run. The server is the real one on 127.0.0.1, called through
// the generated BacktestService client over our gRPC client. With QUESTDB_HTTP and QUESTDB_PG set, the runs are measured on
// QuestDB too, in the same process, after SQLite.
//
// usage: service-bench [BARS] [LATENCY_CALLS]
import BacktestEngine
import BacktestProto
import BacktestService
import BacktestStore
import Foundation
import HTTP2Transport
import RPC

let args = CommandLine.arguments
let bars = args.count > 1 ? Int(args[1]) ?? 1_000_000 : 1_000_000
let latencyCalls = args.count > 2 ? Int(args[2]) ?? 2000 : 2000

func seconds(_ d: Duration) -> Double {
    let (s, a) = d.components
    return Double(s) + Double(a) * 1e-18
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("service-bench-\(getpid())")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }
let sqlite = try SQLiteStore(path: dir.appendingPathComponent("bench.db").path)
let start: Int64 = 1_577_836_800_000_000
let symbol = "BENCH\(getpid())"

/// Imports the bars into `store` (a seeded random walk of 1-minute bars from 2020-01-01).
func importBars(_ store: any BacktestStore) async throws -> Double {
    let importStarted = ContinuousClock.now
    let load = try await store.beginImport(symbol: symbol, kind: .candles, timeframe: "1m", replaceExisting: true)
    var rng: UInt64 = 42
    var price = 100.0
    var batch: [Candle] = []
    batch.reserveCapacity(65_536)
    for i in 0..<bars {
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        let r = Double(rng >> 11) / Double(1 << 53) - 0.5
        let open = price
        let close = max(1, price * (1 + r * 0.002))
        batch.append(
            Candle(
                time: start + Int64(i) * 60_000_000, open: open, high: max(open, close) * 1.0005,
                low: min(open, close) * 0.9995, close: close, volume: 1000 + Double(i % 977)))
        price = close
        if batch.count == 65_536 {
            try await load.append(candles: batch)
            batch.removeAll(keepingCapacity: true)
        }
    }
    try await load.append(candles: batch)
    _ = try await load.commit()
    return seconds(ContinuousClock.now - importStarted)
}

func startRequest() -> StartBacktestRequest {
    StartBacktestRequest(
        symbol: symbol, timeframe: "1m", startTime: ProtoTimestamp(microsecondsSinceEpoch: start),
        endTime: ProtoTimestamp(microsecondsSinceEpoch: start + Int64(bars) * 60_000_000),
        initialCapital: 100_000,
        strategy: StrategySpec(kind: .builtin(BuiltinStrategy(name: "sma_cross", params: ["n1": 10, "n2": 20]))))
}

/// The generated client over a GRPCClient to the server on `port`.
func connect(_ port: Int) -> BacktestServiceClient {
    BacktestServiceClient(RPCClient(transport: GRPCClient(configuration: .init(port: port))))
}

func startSession(_ client: BacktestServiceClient) async throws -> String {
    try await client.startBacktest(startRequest()).sessionID
}

func status(_ client: BacktestServiceClient, _ id: String) async throws -> Session {
    try await client.getSession(GetSessionRequest(sessionID: id)).session ?? Session()
}

func waitDone(_ client: BacktestServiceClient, _ id: String) async throws -> Session {
    while true {
        let s = try await status(client, id)
        if s.status == .completed || s.status == .failed || s.status == .stopped { return s }
        try await Task.sleep(for: .milliseconds(2))
    }
}

// 1. StartBacktest -> COMPLETED, alone, three times per store; then every trade and
// equity point read back (COMPLETED means they are readable).
func measureRuns(_ store: any BacktestStore, _ label: String) async throws -> Double {
    print(String(format: "%@: imported %d bars in %.2f s", label, bars, try await importBars(store)))
    let server = BacktestServer(configuration: .init(port: 0, limits: .init(maxRunning: 2, maxQueued: 8)), store: store)
    let port = try await server.start()
    let client = connect(port)
    var best = Double.infinity
    for run in 1...3 {
        let t0 = ContinuousClock.now
        let id = try await startSession(client)
        let s = try await waitDone(client, id)
        let took = seconds(ContinuousClock.now - t0)
        best = min(best, took)
        let r0 = ContinuousClock.now
        // Every row of the results read back, counted.
        var trades = 0, points = 0
        try await client.getTrades(GetTradesRequest(sessionID: id)) { trades += $0.trades.count }
        try await client.getEquityCurve(GetEquityCurveRequest(sessionID: id)) { points += $0.points.count }
        print(
            String(
                format:
                    "%@ run %d: %@ %d bars, %d trades, in %.3f s = %.0f bars/s end to end (results stored); read back %d trades + %d points in %.3f s",
                label, run, "\(s.status)", s.eventsProcessed, s.totalTrades, took, Double(s.eventsProcessed) / took,
                trades, points, seconds(ContinuousClock.now - r0)))
    }
    client.rpc.close()
    await server.shutdown()
    return best
}

let sqliteBest = try await measureRuns(sqlite, "SQLite")
let environment = ProcessInfo.processInfo.environment
if let http = environment["QUESTDB_HTTP"], let pg = environment["QUESTDB_PG"], !http.isEmpty, !pg.isEmpty {
    var options = QuestDBStore.Options()
    options.owner = "service-bench-\(getpid())"
    options.spoolDirectory = dir.appendingPathComponent("spool").path
    let questBest = try await measureRuns(try await QuestDBStore(httpURL: http, pgURL: pg, options: options), "QuestDB")
    print(
        String(
            format: "QuestDB / SQLite, best run each: %.3f s / %.3f s = %.2fx", questBest, sqliteBest,
            questBest / sqliteBest))
} else {
    print("QuestDB: skipped (set QUESTDB_HTTP and QUESTDB_PG to measure it)")
}

let store = try SQLiteStore(path: dir.appendingPathComponent("bench.db").path)
let server = BacktestServer(configuration: .init(port: 0, limits: .init(maxRunning: 2, maxQueued: 8)), store: store)
let port = try await server.start()
let client = connect(port)

// 2. ListActive latency while two unthrottled sessions run.
let bothStarted = ContinuousClock.now
let a = try await startSession(client)
let b = try await startSession(client)
var latencies: [Double] = []
while latencies.count < latencyCalls {
    let t0 = ContinuousClock.now
    let active = try await client.listActive(ListActiveRequest())
    latencies.append(seconds(ContinuousClock.now - t0) * 1000)
    if active.sessions.isEmpty { break }
}
_ = try await waitDone(client, a)
_ = try await waitDone(client, b)
let both = seconds(ContinuousClock.now - bothStarted)
print(
    String(
        format: "two sessions at once: both completed in %.3f s = %.0f bars/s together", both, Double(2 * bars) / both))
latencies.sort()
let sorted = latencies
func pct(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
print(
    String(
        format: "ListActive during two unthrottled %d-bar sessions: %d calls, p50 %.3f ms, p99 %.3f ms, max %.3f ms",
        bars, sorted.count, pct(0.5), pct(0.99), sorted.last ?? 0))
client.rpc.close()
await server.shutdown()
