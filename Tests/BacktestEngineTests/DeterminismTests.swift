import Testing

@testable import BacktestEngine

/// Identical results whatever the batch size, and invariants over random data.
@Suite struct DeterminismTests {
    struct Outcome: Equatable {
        var stats: BacktestStatistics
        var trades: [TradeRecord]
        var equity: [EquitySample]
        var progress: [EngineProgress]
    }

    static func run(_ config: BacktestConfig, _ bars: [Candle], batch: Int) throws -> Outcome {
        let e = try Engine(config: config)
        var trades: [TradeRecord] = []
        var equity: [EquitySample] = []
        var progress: [EngineProgress] = []
        var i = 0
        while i < bars.count {
            let end = min(bars.count, i + batch)
            try bars[i..<end].withUnsafeBufferPointer { try e.process(candles: $0) }
            // Take results between batches, as a runner does.
            trades += e.takeTrades()
            equity += e.takeEquity()
            if end == bars.count || end % 4096 == 0 { progress.append(e.progress) }
            i = end
        }
        let stats = e.finish()
        return Outcome(
            stats: stats, trades: trades + e.takeTrades(), equity: equity + e.takeEquity(), progress: progress)
    }

    static let configs: [BacktestConfig] = [
        BacktestConfig(initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 5, "n2": 17])),
        BacktestConfig(
            initialCapital: 10_000,
            strategy: .builtin(name: "default", params: ["stop_loss_pct": 0.3, "take_profit_pct": 0.4]),
            costs: .init(commissionFixed: 0.5, commissionRate: 0.0005, slippageBps: 1)),
        BacktestConfig(
            initialCapital: 5_000,
            strategy: Bars.rules(
                [
                    ("L", .entryLong, "crosses_above(ema(close, 8), wma(close, 21)) and rsi(close, 14) < 70"),
                    ("S", .entryShort, "close < bbands_lower(close, 20, 2) or macd_hist(close) < -0.05"),
                    ("XL", .exitLong, "close < lowest(low, 10)[1]"),
                ], stopLoss: 1, takeProfit: 2, trailing: 0.5), fillMode: .onClose, sizing: .equityFraction(0.5),
            fractionalUnits: true),
    ]

    @Test(arguments: 0..<3)
    func sameResultsForEveryBatchSize(config: Int) throws {
        let bars = Bars.randomWalk(20_000, seed: 77)
        let all = try Self.run(Self.configs[config], bars, batch: bars.count)
        #expect(all.trades.count > 10)
        #expect(all.equity.count == bars.count)
        for batch in [1, 7, 4096] {
            let other = try Self.run(Self.configs[config], bars, batch: batch)
            #expect(other.stats == all.stats)
            #expect(other.trades == all.trades)
            #expect(other.equity == all.equity)
            #expect(other.progress.last == all.progress.last)
        }
    }

    /// Random walks, random windows and costs: the books balance and batches do not matter.
    @Test(arguments: 1...12)
    func propertiesHoldOnRandomData(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) * 7919)
        let n = 500 + Int(rng.next() % 3000)
        let bars = Bars.randomWalk(n, seed: UInt64(seed))
        let n1 = 2 + Double(rng.next() % 10)
        let n2 = n1 + 1 + Double(rng.next() % 20)
        let config = BacktestConfig(
            initialCapital: 1000 + Double(rng.next() % 100_000),
            strategy: .builtin(name: "sma_cross", params: ["n1": n1, "n2": n2]),
            costs: .init(commissionFixed: Double(rng.next() % 3), commissionRate: Double(rng.next() % 20) / 10_000),
            fillMode: rng.next() % 2 == 0 ? .nextOpen : .onClose,
            endOfData: rng.next() % 2 == 0 ? .backtestingPy : .lastClose)
        let whole = try Self.run(config, bars, batch: n)
        let split = try Self.run(config, bars, batch: 1 + Int(rng.next() % 97))
        #expect(whole == split)
        let s = whole.stats
        // Final equity = capital + every trade's P&L (an open trade's at the last close).
        let pnl = whole.trades.reduce(0) { $0 + $1.pnl }
        #expect(abs(s.equityFinal - (config.initialCapital + pnl)) <= 1e-6 * config.initialCapital)
        #expect(whole.equity.count == n && whole.equity.last?.equity == s.equityFinal)
        #expect(s.totalTrades == whole.trades.filter { $0.exitTime != nil }.count)
        #expect(s.exposureTimePct >= 0 && s.exposureTimePct <= 100)
        #expect(s.maxDrawdownPct <= 0 && s.equityPeak >= s.equityFinal)
        var lastExit = -1
        for (i, t) in whole.trades.enumerated() {
            #expect(t.number == i + 1)
            #expect(t.entryIndex >= lastExit)
            if let x = t.exitIndex {
                #expect(x >= t.entryIndex)
                lastExit = x
            }
            #expect(t.entryRule == "CROSS_UP" ? t.side == .long : t.side == .short)
        }
        // The equity curve is the account: drawdowns never below the worst.
        #expect(whole.equity.allSatisfy { $0.drawdownPct >= s.maxDrawdownPct - 1e-9 })
    }
}

/// Tick runs: the same answers whatever the batch size; equity samples per interval and
/// at every fill; progress reflects the account.
@Suite struct TickRunTests {
    static func ticks(_ n: Int, seed: UInt64) -> [Tick] {
        Bars.randomWalk(n, seed: seed).enumerated().map { i, c in
            Tick(time: Bars.t0 + Int64(i) * 250_000 + Int64(i % 7), price: c.close, size: max(1, c.volume))
        }
    }

    static func run(_ ticks: [Tick], batch: Int) throws -> (
        BacktestStatistics, [TradeRecord], [EquitySample], EngineProgress
    ) {
        let e = try Engine(
            config: BacktestConfig(
                initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 20, "n2": 60]),
                costs: .init(commissionRate: 0.0002), equitySampleIntervalMicros: 60_000_000))
        var trades: [TradeRecord] = []
        var equity: [EquitySample] = []
        var i = 0
        while i < ticks.count {
            let end = min(ticks.count, i + batch)
            try e.process(ticks: Array(ticks[i..<end]))
            trades += e.takeTrades()
            equity += e.takeEquity()
            i = end
        }
        let progress = e.progress
        let stats = e.finish()
        return (stats, trades + e.takeTrades(), equity + e.takeEquity(), progress)
    }

    static func run(_ config: BacktestConfig, _ ticks: [Tick], batch: Int) throws -> DeterminismTests.Outcome {
        let e = try Engine(config: config)
        var trades: [TradeRecord] = []
        var equity: [EquitySample] = []
        var progress: [EngineProgress] = []
        var i = 0
        while i < ticks.count {
            let end = min(ticks.count, i + batch)
            try ticks[i..<end].withUnsafeBufferPointer { try e.process(ticks: $0) }
            trades += e.takeTrades()
            equity += e.takeEquity()
            progress.append(e.progress)
            i = end
        }
        let stats = e.finish()
        return DeterminismTests.Outcome(
            stats: stats, trades: trades + e.takeTrades(), equity: equity + e.takeEquity(), progress: progress)
    }

    /// Ticks sharing a microsecond, with runs cut by batches of every size and one run
    /// longer than an engine chunk and across a 4096 batch: the same answers whatever the
    /// batch size (the candle configurations of DeterminismTests, over ticks).
    @Test(arguments: 0..<3)
    func sameTimeTicksGiveTheSameResultsForEveryBatchSize(config index: Int) throws {
        let ticks = Bars.sameTimeTicks(20_000, seed: 21)
        #expect(Set(ticks.map(\.time)).count < ticks.count * 3 / 4)
        var config = DeterminismTests.configs[index]
        // Every new time is sampled, so a fill at a later tick of the same time adds a
        // sample at an equal time.
        config.equitySampleIntervalMicros = 1
        let all = try Self.run(config, ticks, batch: ticks.count)
        #expect(all.trades.count > 10)
        #expect(all.progress.last?.eventsProcessed == ticks.count)
        let pairs = zip(all.equity, all.equity.dropFirst())
        #expect(pairs.allSatisfy { $0.time <= $1.time })
        #expect(pairs.contains { $0.time == $1.time })
        for batch in [1, 7, 4096] {
            let other = try Self.run(config, ticks, batch: batch)
            #expect(other.stats == all.stats, "batch \(batch)")
            #expect(other.trades == all.trades, "batch \(batch)")
            #expect(other.equity == all.equity, "batch \(batch)")
            #expect(other.progress.last == all.progress.last, "batch \(batch)")
        }
    }

    @Test func sameResultsForEveryBatchSize() throws {
        let ticks = Self.ticks(30_000, seed: 5)
        let all = try Self.run(ticks, batch: ticks.count)
        #expect(all.1.count > 20)
        for batch in [1, 7, 4096] {
            let other = try Self.run(ticks, batch: batch)
            #expect(other.0 == all.0 && other.1 == all.1 && other.2 == all.2 && other.3 == all.3)
        }
        // One sample per minute of data plus one at each fill (entries and exits share ticks).
        let minutes = Set(all.2.map { $0.time / 60_000_000 })
        #expect(minutes.count == Set(ticks.map { $0.time / 60_000_000 }).count)
        let fillTimes = Set(all.1.flatMap { [$0.entryTime] + ($0.exitTime.map { [$0] } ?? []) })
        #expect(fillTimes.isSubset(of: Set(all.2.map(\.time))))
        #expect(all.2.last?.time == ticks.last?.time && all.2.last?.equity == all.0.equityFinal)
        // Progress before finish: equity = capital + realised + unrealised.
        let p = all.3
        #expect(p.eventsProcessed == ticks.count && p.simTime == ticks.last?.time)
        #expect(abs(p.equity - (10_000 + p.realizedPnl + p.unrealizedPnl)) < 1e-6)
        #expect(
            p.openPositions == (p.positionSize == 0 ? 0 : 1) && p.drawdownPct <= 0 && p.maxDrawdownPct <= p.drawdownPct)
    }
}
