@testable import BacktestEngine

/// Hand-built data for tests.
enum Bars {
    static let day: Int64 = 86_400_000_000
    /// 2024-01-01 (a Monday) in microseconds.
    static let t0: Int64 = 1_704_067_200_000_000

    /// Daily candles from (open, high, low, close) with volume 1000.
    static func daily(_ ohlc: [(Double, Double, Double, Double)], volume: Double = 1000) -> [Candle] {
        ohlc.enumerated().map { i, b in
            Candle(time: t0 + Int64(i) * day, open: b.0, high: b.1, low: b.2, close: b.3, volume: volume)
        }
    }

    /// A seeded random walk of `n` one-minute candles; closes move up to `step / 2` a bar.
    static func randomWalk(_ n: Int, seed: UInt64, start: Double = 100, step: Double = 0.004) -> [Candle] {
        var rng = SplitMix64(seed: seed)
        var price = start
        var out: [Candle] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let u = Double(rng.next() % 1_000_000) / 1_000_000 - 0.5
            let open = price
            let close = max(0.01, (open * (1 + u * step) * 10_000).rounded() / 10_000)
            let wiggle = Double(rng.next() % 1000) / 1000 * 0.001 * open
            let volume = Double(rng.next() % 5000)
            out.append(
                Candle(
                    time: t0 + Int64(i) * 60_000_000, open: open, high: max(open, close) + wiggle,
                    low: max(0.001, min(open, close) - wiggle), close: close, volume: volume))
            price = close
        }
        return out
    }

    /// `n` ticks on a random walk's closes where about one tick in three shares the
    /// previous tick's microsecond, plus one long run at a single time (ticks
    /// `longRun`), across engine chunks and batch boundaries.
    static func sameTimeTicks(_ n: Int, seed: UInt64, longRun: Range<Int> = 4_000..<7_000) -> [Tick] {
        var rng = SplitMix64(seed: seed &+ 1)
        var time = t0
        return randomWalk(n, seed: seed).enumerated().map { i, c in
            let stay = i > 0 && (longRun.contains(i) && i != longRun.lowerBound || rng.next() % 3 == 0)
            if !stay { time += 1 + Int64(rng.next() % 500_000) }
            return Tick(time: time, price: c.close, size: max(1, c.volume))
        }
    }

    static func rules(
        _ rules: [(String, StrategyDefinition.RuleKind, String)], stopLoss: Double = 0, takeProfit: Double = 0,
        trailing: Double = 0, params: [String: Double] = [:]
    ) -> StrategyDefinition {
        .rules(
            .init(
                name: "test", rules: rules.map { .init(name: $0.0, kind: $0.1, expression: $0.2) },
                stopLossPct: stopLoss, takeProfitPct: takeProfit, trailingStopPct: trailing, params: params))
    }

    /// Runs to the end and returns everything.
    static func run(_ config: BacktestConfig, _ candles: [Candle]) throws -> (
        stats: BacktestStatistics, trades: [TradeRecord], equity: [EquitySample]
    ) {
        let engine = try Engine(config: config)
        try engine.process(candles: candles)
        let stats = engine.finish()
        return (stats, engine.takeTrades(), engine.takeEquity())
    }
}
