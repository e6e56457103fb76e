import Testing

@testable import BacktestEngine

/// Engines reading shared indicator columns give the results of engines computing their
/// own, bit for bit; the columns are made once and stay within their budget.
@Suite struct SharedColumnsTests {
    struct Outcome: Equatable {
        var stats: BacktestStatistics
        var trades: [TradeRecord]
        var equity: [EquitySample]
    }

    /// Where two outcomes first differ (nil: nowhere), short enough to read in a report.
    static func difference(_ a: Outcome, _ b: Outcome) -> String? {
        if a.stats != b.stats { return "statistics: \(a.stats) vs \(b.stats)" }
        if let i = firstDifference(a.trades, b.trades) { return "trade \(i) of \(a.trades.count) / \(b.trades.count)" }
        if let i = firstDifference(a.equity, b.equity) {
            return "equity sample \(i) of \(a.equity.count) / \(b.equity.count)"
        }
        return nil
    }

    static func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> Int? {
        if let i = a.indices.first(where: { $0 >= b.count || a[$0] != b[$0] }) { return i }
        return a.count == b.count ? nil : a.count
    }

    static func run(_ config: BacktestConfig, _ bars: [Candle], batch: Int, shared: SharedColumns?) throws -> Outcome {
        let engine = try Engine(config: config, shared: shared)
        var trades: [TradeRecord] = []
        var equity: [EquitySample] = []
        var i = 0
        while i < bars.count {
            let end = min(bars.count, i + batch)
            try bars[i..<end].withUnsafeBufferPointer { try engine.process(candles: $0) }
            trades += engine.takeTrades()
            equity += engine.takeEquity()
            i = end
        }
        let stats = engine.finish()
        return Outcome(stats: stats, trades: trades + engine.takeTrades(), equity: equity + engine.takeEquity())
    }

    static func run(_ config: BacktestConfig, _ ticks: [Tick], shared: SharedColumns?) throws -> Outcome {
        let engine = try Engine(config: config, shared: shared)
        var trades: [TradeRecord] = []
        var equity: [EquitySample] = []
        for start in stride(from: 0, to: ticks.count, by: 3000) {
            try engine.process(ticks: Array(ticks[start..<min(ticks.count, start + 3000)]))
            trades += engine.takeTrades()
            equity += engine.takeEquity()
        }
        let stats = engine.finish()
        return Outcome(stats: stats, trades: trades + engine.takeTrades(), equity: equity + engine.takeEquity())
    }

    /// Every shareable kind over several fields, beside indicators that cannot be shared
    /// (of an expression, lagged ones) and a multi-output one.
    static func strategy(_ a: Int, _ b: Int) -> StrategyDefinition {
        Bars.rules(
            [
                ("L", .entryLong, "crosses_above(sma(close, \(a)), ema(close, \(b))) and rsi(close, 14) < 75"),
                ("S", .entryShort, "crosses_below(wma(open, \(a)), sma(close, \(b))) or close < lowest(low, \(b))[1]"),
                (
                    "XL", .exitLong,
                    "stddev(close, \(a)) > 2 * stddev(close - open, 5) or close > highest(high, \(a))[1]"
                ),
                ("XS", .exitShort, "roc(close, \(a)) > 1 or sma(volume, \(b)) < volume / 4 or macd_hist(close) > 0.2"),
            ], stopLoss: 2, trailing: 1)
    }

    @Test func sharedColumnsGiveTheSameResults() throws {
        let bars = Bars.randomWalk(9_000, seed: 31)
        let shared = SharedColumns(candles: bars, budgetBytes: 64 << 20)
        var runs = 0
        for (a, b) in [(5, 20), (5, 30), (8, 20), (8, 30), (5, 20)] {
            for batch in [bars.count, 1000, 4096] {
                let config = BacktestConfig(initialCapital: 50_000, strategy: Self.strategy(a, b))
                let own = try Self.run(config, bars, batch: batch, shared: nil)
                let read = try Self.run(config, bars, batch: batch, shared: shared)
                #expect(own.trades.count > 20)
                #expect(Self.difference(read, own) == nil, "strategy(\(a), \(b)), batches of \(batch)")
                runs += 1
            }
        }
        // The columns of (5, 20): sma(close, 5), ema(close, 20), rsi(close, 14),
        // wma(open, 5), sma(close, 20), lowest(low, 20), stddev(close, 5), highest(high, 5),
        // sma(volume, 20); the other pairs add only those of their new periods.
        let usage = shared.usage
        #expect(usage.computed == 9 + 4 + 4 + 0)
        #expect(usage.computed + usage.reused == 9 * runs)
        #expect(usage.evicted == 0 && usage.refused == 0)
        #expect(shared.bytesHeld == usage.computed * bars.count * 8)
    }

    @Test func ticksShareTheirColumns() throws {
        let ticks = Bars.sameTimeTicks(12_000, seed: 5)
        let shared = SharedColumns(ticks: ticks, budgetBytes: 64 << 20)
        for (a, b) in [(4, 40), (6, 40)] {
            let config = BacktestConfig(
                initialCapital: 10_000, strategy: Self.strategy(a, b), fillMode: .onClose, sizing: .fixedUnits(3))
            let own = try Self.run(config, ticks, shared: nil)
            let read = try Self.run(config, ticks, shared: shared)
            #expect(own.trades.count > 5)
            #expect(Self.difference(read, own) == nil, "strategy(\(a), \(b))")
        }
        #expect(shared.usage.reused > 0)
    }

    @Test func aSmallBudgetEvictsAndATinyOneShares() throws {
        let bars = Bars.randomWalk(3_000, seed: 8)
        let column = bars.count * 8
        // Room for three columns: the least recently used go; results do not change.
        let small = SharedColumns(candles: bars, budgetBytes: 3 * column)
        let none = SharedColumns(candles: bars, budgetBytes: column - 1)
        for (a, b) in [(5, 20), (9, 25), (5, 20)] {
            let config = BacktestConfig(initialCapital: 50_000, strategy: Self.strategy(a, b))
            let own = try Self.run(config, bars, batch: 700, shared: nil)
            #expect(Self.difference(try Self.run(config, bars, batch: 700, shared: small), own) == nil)
            #expect(Self.difference(try Self.run(config, bars, batch: 700, shared: none), own) == nil)
        }
        #expect(small.usage.evicted > 0)
        #expect(small.bytesHeld <= 3 * column)
        #expect(none.usage.computed == 0 && none.usage.refused == 27 && none.bytesHeld == 0)
    }

    @Test func enginesOnManyThreadsShareOneSet() async throws {
        let bars = Bars.randomWalk(6_000, seed: 12)
        let shared = SharedColumns(candles: bars, budgetBytes: 64 << 20)
        let pairs = (0..<16).map { (3 + $0 % 4, 20 + 5 * ($0 % 3)) }
        let expected = try pairs.map {
            try Self.run(
                BacktestConfig(initialCapital: 50_000, strategy: Self.strategy($0.0, $0.1)), bars, batch: 2048,
                shared: nil)
        }
        let results = try await withThrowingTaskGroup(of: (Int, Outcome).self) { group in
            for (i, (a, b)) in pairs.enumerated() {
                group.addTask {
                    let config = BacktestConfig(initialCapital: 50_000, strategy: Self.strategy(a, b))
                    return (i, try Self.run(config, bars, batch: 2048, shared: shared))
                }
            }
            var out = [Outcome?](repeating: nil, count: pairs.count)
            for try await (i, outcome) in group { out[i] = outcome }
            return out
        }
        for i in pairs.indices {
            #expect(Self.difference(results[i]!, expected[i]) == nil, "pair \(pairs[i])")
        }
    }
}
