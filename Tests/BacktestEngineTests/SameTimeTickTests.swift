import Testing

@testable import BacktestEngine

/// Ticks that share a microsecond are separate events, run in the order given: orders
/// fill at the next tick even when it has the same time, durations can be zero, and
/// equity samples can share a time. Expected numbers are worked out in the comments.
@Suite struct SameTimeTickTests {
    static let t = Bars.t0

    static func run(_ config: BacktestConfig, _ ticks: [(Int64, Double)])
        throws -> (stats: BacktestStatistics, trades: [TradeRecord], equity: [EquitySample], progress: EngineProgress)
    {
        let engine = try Engine(config: config)
        try engine.process(ticks: ticks.map { Tick(time: $0.0, price: $0.1, size: 1) })
        let progress = engine.progress
        let stats = engine.finish()
        return (stats, engine.takeTrades(), engine.takeEquity(), progress)
    }

    @Test func marketOrdersFillAtTheNextTickOfTheSameMicrosecond() throws {
        let strategy = Bars.rules([
            ("IN", .entryLong, "close > 100.5 and close < 102"), ("OUT", .exitLong, "close > 104.5"),
        ])
        let config = BacktestConfig(
            initialCapital: 10_000, strategy: strategy, costs: .init(commissionFixed: 1, commissionRate: 0.001),
            sizing: .fixedUnits(10))
        // Tick 0 warms up, tick 1 (101) signals IN, tick 2 at the same time fills it at 103;
        // tick 3 (105) signals OUT, tick 4 at the same time fills it at 107.
        let r = try Self.run(
            config,
            [(Self.t, 100), (Self.t, 101), (Self.t, 103), (Self.t + 1, 105), (Self.t + 1, 107), (Self.t + 2, 107)])
        #expect(r.progress.eventsProcessed == 6 && r.progress.simTime == Self.t + 2)
        #expect(r.trades.count == 1)
        let trade = try #require(r.trades.first)
        #expect(trade.entryPrice == 103 && trade.entryIndex == 2 && trade.entryTime == Self.t)
        #expect(trade.exitPrice == 107 && trade.exitIndex == 4 && trade.exitTime == Self.t + 1)
        #expect(trade.entryRule == "IN" && trade.exitRule == "OUT" && trade.quantity == 10)
        // Commissions 1 + 1030 * 0.001 and 1 + 1070 * 0.001; 10 * (107 - 103) - 4.10.
        #expect(approx(trade.commission, 4.10) && approx(trade.pnl, 35.90))
        // Samples: the first tick, then each fill (two at time t), then the last tick.
        #expect(r.equity.map(\.time) == [Self.t, Self.t, Self.t + 1, Self.t + 2])
        let expected = [10_000, 9997.97, 10_035.90, 10_035.90]
        for (sample, value) in zip(r.equity, expected) { #expect(approx(sample.equity, value)) }
        #expect(r.equity[1].positionSize == 10 && approx(r.equity[1].cash, 9997.97 - 1030))
        // Ticks 2...4 of 6 in the market; most recent spacings are 0, so durations keep
        // the microsecond (1 µs in the market) instead of pandas' whole day.
        #expect(
            approx(r.stats.exposureTimePct, 50) && approx(r.stats.equityFinal, 10_035.90) && r.stats.totalTrades == 1)
        #expect(r.stats.maxTradeDurationMicros == 1 && r.stats.avgTradeDurationMicros == 1)
        #expect(r.stats.start == Self.t && r.stats.end == Self.t + 2 && r.stats.durationMicros == 2)
    }

    @Test func fillOnCloseAndAStopLossWithinOneMicrosecond() throws {
        let strategy = Bars.rules([("IN", .entryLong, "close > 100.95 and close < 101.05")], stopLoss: 1)
        let config = BacktestConfig(
            initialCapital: 10_000, strategy: strategy, fillMode: .onClose, sizing: .fixedUnits(10))
        // Tick 1 signals and (on close) fills at its own close 101, recorded at tick 1;
        // the stop is 101 * 0.99 = 99.99; tick 3 (99) hits it and fills at 99, at time t.
        let r = try Self.run(
            config, [(Self.t, 100), (Self.t, 101), (Self.t, 102), (Self.t, 99), (Self.t + 3, 99), (Self.t + 3, 99)])
        let trade = try #require(r.trades.first)
        #expect(r.trades.count == 1)
        #expect(trade.entryPrice == 101 && trade.entryIndex == 1 && trade.entryTime == Self.t)
        #expect(trade.exitPrice == 99 && trade.exitIndex == 3 && trade.exitTime == Self.t && trade.exitRule == "E1")
        #expect(trade.pnl == -20)
        #expect(r.stats.maxTradeDurationMicros == 0 && r.stats.avgTradeDurationMicros == 0)
        #expect(approx(r.stats.exposureTimePct, 50) && r.stats.equityFinal == 9980)
        // Samples: the first tick, the entry's tick 2 (10000 + 10 * (102 - 101)), the
        // stop's tick 3: three at time t, in tick order.
        #expect(r.equity.map(\.time) == [Self.t, Self.t, Self.t, Self.t + 3])
        #expect(r.equity.map(\.equity) == [10_000, 10_010, 9980, 9980])
    }

    @Test func equalTimesAcrossBatchesAreAcceptedAndGoingBackIsNot() throws {
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: 1000, strategy: .builtin(name: "sma_cross", params: ["n1": 2, "n2": 3])))
        try engine.process(ticks: [Tick(time: 5, price: 1, size: 1), Tick(time: 5, price: 2, size: 1)])
        try engine.process(ticks: [Tick(time: 5, price: 3, size: 1)])
        #expect(throws: EngineError.timeOutOfOrder(row: 3, time: 4, previous: 5)) {
            try engine.process(ticks: [Tick(time: 4, price: 1, size: 1)])
        }
        #expect(engine.progress.eventsProcessed == 3 && engine.progress.simTime == 5)
        // Candles still need strictly increasing times.
        let candles = try Engine(
            config: BacktestConfig(
                initialCapital: 1000, strategy: .builtin(name: "sma_cross", params: ["n1": 2, "n2": 3])))
        let bar = Candle(time: 5, open: 1, high: 1, low: 1, close: 1, volume: 1)
        #expect(throws: EngineError.duplicateTime(row: 1, time: 5)) { try candles.process(candles: [bar, bar]) }
    }

    /// The engine never looks at a tick's time to trade: the same ticks with their times
    /// spread apart give the same trades (times aside) and the same account.
    @Test(arguments: 0..<3)
    func sameTimeTicksTradeAsIfTheirTimesWereDistinct(config index: Int) throws {
        let ticks = Bars.sameTimeTicks(12_000, seed: 9)
        let spread = ticks.enumerated().map { i, tick in
            Tick(time: Bars.t0 + Int64(i) * 1_000, price: tick.price, size: tick.size)
        }
        let config = DeterminismTests.configs[index]
        let a = try TickRunTests.run(config, ticks, batch: 1000)
        let b = try TickRunTests.run(config, spread, batch: 1000)
        #expect(a.trades.count > 5)
        func timeless(_ t: TradeRecord) -> TradeRecord {
            var t = t
            t.entryTime = 0
            t.exitTime = t.exitTime == nil ? nil : 0
            return t
        }
        #expect(a.trades.map(timeless) == b.trades.map(timeless))
        #expect(a.stats.equityFinal == b.stats.equityFinal && a.stats.totalTrades == b.stats.totalTrades)
        #expect(a.stats.exposureTimePct == b.stats.exposureTimePct && a.stats.maxDrawdownPct == b.stats.maxDrawdownPct)
        #expect(a.stats.commissions == b.stats.commissions && a.stats.winRatePct == b.stats.winRatePct)
        #expect(a.progress.last?.eventsProcessed == ticks.count && b.progress.last?.eventsProcessed == ticks.count)
    }
}
