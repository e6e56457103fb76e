import Foundation
import TestSupport
import Testing

@testable import BacktestEngine

/// Stitched runs (a walk-forward's out-of-sample runs joined into one account): one
/// run stitched alone gives the engine's own statistics; several give backtesting.py's
/// `compute_stats` over the stitched equity and trades.
@Suite struct StitchedRunTests {
    static let script = "Tests/BacktestEngineTests/Clients/stitched_stats_reference.py"

    static func run(_ candles: ArraySlice<Candle>, n1: Double, n2: Double, capital: Double) throws -> (
        BacktestStatistics, [TradeRecord], [EquitySample]
    ) {
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: capital, strategy: .builtin(name: "sma_cross", params: ["n1": n1, "n2": n2]),
                costs: .init(commissionRate: 0.001)))
        try engine.process(candles: Array(candles))
        let stats = engine.finish()
        return (stats, engine.takeTrades(), engine.takeEquity())
    }

    @Test func oneRunGivesTheEnginesStatistics() throws {
        let candles = try MarketCSV.load(ParityTests.goog)
        let (stats, trades, equity) = try Self.run(candles[...], n1: 10, n2: 20, capital: 10_000)
        var stitched = StitchedRun(initialCapital: 10_000)
        try stitched.append(closes: candles.map(\.close), equity: equity, trades: trades)
        var s = stitched.statistics()
        // Buy and hold starts at the first close when stitched, after the warm-up in a run.
        #expect(s.buyAndHoldReturnPct == (candles.last!.close - candles[0].close) / candles[0].close * 100)
        s.buyAndHoldReturnPct = stats.buyAndHoldReturnPct
        s.alphaPct = stats.alphaPct
        // Trade returns go through percent and back: equal to the last bits or so.
        for (name, get) in ReferenceComparison.statFields {
            #expect(ReferenceComparison.close(get(s), get(stats), 1e-12), "\(name): \(get(s)) vs \(get(stats))")
        }
        #expect(s.equityFinal == stats.equityFinal && s.maxDrawdownPct == stats.maxDrawdownPct)
        #expect(s.sharpeRatio == stats.sharpeRatio && s.maxDrawdownDurationMicros == stats.maxDrawdownDurationMicros)
        let taken = stitched.take()
        #expect(taken.equity == equity && taken.trades == trades)
        #expect(stitched.take().equity.isEmpty)
    }

    @Test func severalRunsMatchBacktestingPyComputeStats() async throws {
        let candles = try MarketCSV.load(ParityTests.goog)
        let cuts = [0, 700, 1400, candles.count]
        let params: [(Double, Double)] = [(10, 20), (5, 30), (15, 40)]
        var capital = 10_000.0
        var stitched = StitchedRun(initialCapital: capital)
        var runEquity: [EquitySample] = []
        var runTrades: [TradeRecord] = []
        for (k, (n1, n2)) in params.enumerated() {
            let bars = candles[cuts[k]..<cuts[k + 1]]
            let (stats, trades, equity) = try Self.run(bars, n1: n1, n2: n2, capital: capital)
            try stitched.append(closes: bars.map(\.close), equity: equity, trades: trades)
            runEquity += equity
            runTrades += trades
            capital = stats.equityFinal
        }
        let (trades, equity) = stitched.take()
        #expect(equity.map(\.equity) == runEquity.map(\.equity), "each run's equity, in order")
        #expect(trades.map(\.number) == Array(1...runTrades.count))
        #expect(trades.map(\.pnl) == runTrades.map(\.pnl))
        // Drawdowns from the stitched peak: never above 0, and 0 at each new peak.
        var peak = -Double.infinity
        for p in equity {
            peak = max(peak, p.equity)
            #expect(p.drawdownPct <= 0 && (p.equity < peak || p.drawdownPct == 0))
        }
        #expect(stitched.statistics().equityFinal == capital)

        let input: [String: Any] = [
            "times": candles.map(\.time), "closes": candles.map(\.close), "equity": equity.map(\.equity),
            "trades": trades.map { t in
                [
                    "size": (t.side == .long ? 1 : -1) * t.quantity, "entry_bar": t.entryIndex,
                    "exit_bar": t.exitIndex!, "entry_price": t.entryPrice, "exit_price": t.exitPrice, "pnl": t.pnl,
                    "return_pct": t.returnPct, "entry_time": t.entryTime, "exit_time": t.exitTime!,
                ] as [String: Any]
            },
        ]
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stitched-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: input).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (json, output) = try await Subprocess.pythonJSON(Self.script, [file.path])
        let reference = try #require(json["stats"] as? [String: Any], Comment(rawValue: output.text))
        let s = stitched.statistics()
        for (key, get) in ReferenceComparison.statFields {
            let expected =
                (reference[key] as? NSNumber)?.doubleValue ?? (reference[key] as? String).flatMap { Double($0) }
                ?? .nan
            #expect(
                ReferenceComparison.close(get(s), expected), "\(key): stitched \(get(s)), backtesting.py \(expected)")
        }
        let spans: [(String, Int64)] = [
            ("Duration", s.durationMicros), ("Max. Drawdown Duration", s.maxDrawdownDurationMicros),
            ("Avg. Drawdown Duration", s.avgDrawdownDurationMicros), ("Max. Trade Duration", s.maxTradeDurationMicros),
            ("Avg. Trade Duration", s.avgTradeDurationMicros),
        ]
        for (key, d) in spans {
            #expect(MarketCSV.pandasDuration(d) == reference[key] as? String, "\(key)")
        }
    }

    @Test func refusesOverlapsAndMissingSamples() throws {
        let candles = try MarketCSV.load(ParityTests.goog)
        let (_, trades, equity) = try Self.run(candles[0..<100], n1: 10, n2: 20, capital: 10_000)
        var stitched = StitchedRun(initialCapital: 10_000)
        #expect(throws: StitchedRun.Failure.samplesPerBar(bars: 99, samples: 100)) {
            try stitched.append(closes: candles[0..<99].map(\.close), equity: equity, trades: trades)
        }
        try stitched.append(closes: candles[0..<100].map(\.close), equity: equity, trades: trades)
        #expect(throws: StitchedRun.Failure.overlapping(time: equity[0].time, previous: equity[99].time)) {
            try stitched.append(closes: candles[0..<100].map(\.close), equity: equity, trades: trades)
        }
    }
}
