import BacktestEngine
import Foundation
import TestSupport
import Testing

/// Ticks that share a microsecond through the real `backtestd`: imported as CSV, run as a
/// tick session, and the stored results equal the engine's run in this process, equity
/// samples at equal times included, complete and in order.
@Suite struct SameTimeTicksEndToEndTests {
    /// 2024-01-02T00:00:00Z in microseconds.
    static let t0: Int64 = 1_704_153_600_000_000

    /// A random walk where about one tick in three keeps the previous tick's time; times
    /// step in whole milliseconds (the JSON timestamps are compared at that precision).
    static func ticks(_ count: Int) -> [Tick] {
        var rng: UInt64 = 42
        var time = t0
        var cents: Int64 = 10_000
        return (0..<count).map { i in
            rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let r = rng >> 33
            if i > 0 && r % 3 != 0 { time += 1_000 * Int64(1 + r % 250) }
            cents = max(100, cents + Int64((r >> 8) % 9) - 4)
            return Tick(time: time, price: Double(cents) / 100, size: Double(1 + r % 50))
        }
    }

    @Test func aTickSessionOverSameTimeTicksMatchesTheEngine() async throws {
        let (_, client) = try await SharedDaemon.shared.get()
        try await Self.check(client, symbol: "SAMETICK")
    }

    /// The same on QuestDB, when one is reachable.
    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["QUESTDB_HTTP"] != nil
                && ProcessInfo.processInfo.environment["QUESTDB_PG"] != nil,
            "needs a live QuestDB: set QUESTDB_HTTP and QUESTDB_PG"))
    func onQuestDB() async throws {
        let env = ProcessInfo.processInfo.environment
        let daemon = try await DaemonProcess(arguments: [
            "--store", "questdb", "--questdb-http", env["QUESTDB_HTTP"]!, "--questdb-pg", env["QUESTDB_PG"]!,
            "--node-id", "same-time-\(UUID().uuidString.prefix(8))",
        ])
        defer { daemon.terminate() }
        try await Self.check(PyClient(port: daemon.port), symbol: "SAMETICK-\(UUID().uuidString.prefix(8))")
    }

    static func check(_ client: PyClient, symbol: String) async throws {
        let ticks = Self.ticks(5_000)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "same-time-ticks-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try ("time,price,size\n" + ticks.map { "\($0.time),\($0.price),\($0.size)\n" }.joined()).write(
            to: url, atomically: true, encoding: .utf8)
        let imported = try await client.importCSV(
            url.path,
            header: [
                "symbol": symbol, "kind": "DATA_KIND_TICKS", "format": "IMPORT_FORMAT_CSV",
                "source_name": "same-time-ticks.csv",
            ])
        #expect(imported.code == "OK", "\(imported)")

        let id = try await client.start([
            "symbol": symbol, "timeframe": "tick", "start_time": "2024-01-02T00:00:00Z",
            "end_time": "2024-01-03T00:00:00Z",
            "initial_capital": 10_000, "strategy": ["builtin": ["name": "sma_cross", "params": ["n1": 5, "n2": 20]]],
            "equity_sample_interval": "0.001s",
        ])
        let session = try await client.waitFor(id, ["SESSION_STATUS_COMPLETED", "SESSION_STATUS_FAILED"])
        #expect(session["status"] as? String == "SESSION_STATUS_COMPLETED", "\(session)")
        #expect(Int(session["events_processed"] as? String ?? "") == ticks.count)

        // The same run in this process: every new time (1 ms apart at least) is sampled,
        // and a fill at a later tick of that time adds a sample at the same time.
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 5, "n2": 20]),
                equitySampleIntervalMicros: 1_000))
        try engine.process(ticks: ticks)
        let expected = engine.finish()
        let samples = engine.takeEquity()
        #expect(zip(samples, samples.dropFirst()).contains { $0.time == $1.time })
        let stats = session["statistics"] as? [String: Any] ?? [:]
        #expect(EndToEndTests.close(stats["equity_final"], expected.equityFinal), "\(stats)")
        #expect(Int(stats["total_trades"] as? String ?? "") == expected.totalTrades)

        let curve = try await client.call("GetEquityCurve", ["session_id": id, "chunk_size": 7])
        let points = curve.responses.flatMap { $0["points"] as? [[String: Any]] ?? [] }
        #expect(points.count == samples.count)
        var mismatches = 0
        for (point, sample) in zip(points, samples) {
            let millis = Int64((try EndToEndTests.seconds(point["time"]) * 1000).rounded())
            if millis != sample.time / 1000 || !EndToEndTests.close(point["equity"], sample.equity) { mismatches += 1 }
        }
        #expect(mismatches == 0, "points differing from the engine's samples, in order")
    }
}
