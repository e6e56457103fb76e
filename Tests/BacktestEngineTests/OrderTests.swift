import Testing

@testable import BacktestEngine

/// Equal up to floating-point rounding (100 * 1.1 is 110.00000000000001).
func approx(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }

/// Every order type and exit on hand-built bars; the expected numbers are worked out
/// in the comments.
@Suite struct OrderTests {
    // b1's close 101 signals; b3's close 105 signals the exit.
    static let bars = Bars.daily([
        (100, 101, 99, 100), (100, 102, 99, 101), (103, 104, 102, 103), (104, 106, 103, 105), (107, 108, 106, 107),
    ])
    static let inAndOut = Bars.rules([
        ("IN", .entryLong, "close > 100.5 and close < 102"), ("OUT", .exitLong, "close > 104.5"),
    ])

    @Test func marketOrdersFillAtNextOpenWithCommission() throws {
        let config = BacktestConfig(
            initialCapital: 10_000, strategy: Self.inAndOut,
            costs: .init(commissionFixed: 1, commissionRate: 0.001), sizing: .fixedUnits(10))
        let (stats, trades, equity) = try Bars.run(config, Self.bars)
        #expect(trades.count == 1)
        let t = try #require(trades.first)
        // Entry at b2's open 103, exit at b4's open 107.
        #expect(t.entryPrice == 103 && t.exitPrice == 107 && t.entryIndex == 2 && t.exitIndex == 4)
        #expect(t.entryTime == Bars.t0 + 2 * Bars.day && t.exitTime == Bars.t0 + 4 * Bars.day)
        #expect(t.entryRule == "IN" && t.exitRule == "OUT" && t.side == .long && t.quantity == 10)
        // Commissions 1 + 1030 * 0.001 = 2.03 and 1 + 1070 * 0.001 = 2.07; 10 * 4 - 4.10.
        #expect(abs(t.commission - 4.10) < 1e-9)
        #expect(abs(t.pnl - 35.90) < 1e-9)
        #expect(abs(t.returnPct - (107.0 / 103 - 1 - 4.10 / 1030) * 100) < 1e-9)
        // Equity: flat, flat, 10000 - 2.03, + 10 * (105 - 103), after the exit.
        let expected = [10_000, 10_000, 9997.97, 10_017.97, 10_035.90]
        #expect(equity.count == 5)
        for (s, e) in zip(equity, expected) { #expect(abs(s.equity - e) < 1e-9) }
        #expect(equity[2].positionSize == 10 && abs(equity[2].cash - (9997.97 - 1030)) < 1e-9)
        #expect(
            abs(stats.equityFinal - 10_035.90) < 1e-9 && stats.totalTrades == 1 && abs(stats.commissions - 4.10) < 1e-9)
        // Exposure: bars 2...4 of 5.
        #expect(abs(stats.exposureTimePct - 60) < 1e-9)
    }

    @Test func fillOnCloseFillsAtTheSignalBarsClose() throws {
        let config = BacktestConfig(
            initialCapital: 10_000, strategy: Self.inAndOut, fillMode: .onClose, sizing: .fixedUnits(10))
        let (_, trades, equity) = try Bars.run(config, Self.bars)
        let t = try #require(trades.first)
        // In at b1's close 101, out at b3's close 105, each recorded at its signal bar.
        #expect(t.entryPrice == 101 && t.exitPrice == 105 && t.entryIndex == 1 && t.exitIndex == 3 && t.pnl == 40)
        // Bar 1's equity is taken before its close fill (as backtesting.py); b2 = 10000 + 10 * (103 - 101).
        #expect(equity.map(\.equity) == [10_000, 10_000, 10_020, 10_040, 10_040])
    }

    @Test func slippageIsAdverseOnBothFills() throws {
        let config = BacktestConfig(
            initialCapital: 10_000, strategy: Self.inAndOut, costs: .init(slippageBps: 10), sizing: .fixedUnits(10))
        let t = try #require(try Bars.run(config, Self.bars).trades.first)
        #expect(abs(t.entryPrice - 103 * 1.001) < 1e-9 && abs(t.exitPrice - 107 * 0.999) < 1e-9)
    }

    @Test func sizingModes() throws {
        func units(_ sizing: BacktestConfig.SizingMode, fractional: Bool = false) throws -> Double? {
            let config = BacktestConfig(
                initialCapital: 10_000, strategy: Self.inAndOut, sizing: sizing, fractionalUnits: fractional)
            return try Bars.run(config, Self.bars).trades.first?.quantity
        }
        // 10000 / 103 = 97.08...
        #expect(try units(.allEquity) == 97)
        #expect(try units(.equityFraction(0.5)) == 48)
        #expect(try units(.fixedNotional(1000)) == 9)
        #expect(try units(.fixedUnits(3)) == 3)
        #expect(abs(try units(.allEquity, fractional: true)! - 10_000 / 103.0) < 1e-9)
        // 1000 units cost 103,000: the order is dropped.
        #expect(try units(.fixedUnits(1000)) == nil)
    }

    // Entry at b1's open 100 (signal on b0 is never evaluated: the strategy starts at bar 1,
    // so the signal comes from b1 and fills at b2's open).
    static func exitTest(
        _ exitBar: (Double, Double, Double, Double), short: Bool = false, stopLoss: Double = 0,
        takeProfit: Double = 0, trailing: Double = 0, extra: [(Double, Double, Double, Double)] = []
    ) throws -> TradeRecord {
        let bars = Bars.daily(
            [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100.5, 99.5, 100)] + extra + [
                exitBar, (100, 100, 100, 100),
            ])
        let strategy = Bars.rules(
            [
                (
                    "IN", short ? .entryShort : .entryLong,
                    "close == 100 and position == 0 and open == 100 and high == 100"
                )
            ],
            stopLoss: stopLoss, takeProfit: takeProfit, trailing: trailing)
        let config = BacktestConfig(initialCapital: 10_000, strategy: strategy, sizing: .fixedUnits(1))
        let trades = try Bars.run(config, bars).trades
        return try #require(trades.first)
    }

    @Test func stopLossTakeProfitAndGaps() throws {
        // Long from 100: stop 95, target 110.
        var t = try Self.exitTest((96, 97, 94, 95), stopLoss: 5)
        #expect(approx(t.exitPrice, 95) && t.exitRule == "E1" && t.entryPrice == 100 && t.exitIndex == 3)
        t = try Self.exitTest((93, 94, 90, 92), stopLoss: 5)  // gap below the stop: the open
        #expect(approx(t.exitPrice, 93) && t.exitRule == "E1")
        t = try Self.exitTest((101, 112, 99, 111), takeProfit: 10)
        #expect(approx(t.exitPrice, 110) && t.exitRule == "ZE1")
        t = try Self.exitTest((115, 116, 114, 115), takeProfit: 10)  // gap above the target
        #expect(approx(t.exitPrice, 115) && t.exitRule == "ZE1")
        t = try Self.exitTest((100, 111, 94, 100), stopLoss: 5, takeProfit: 10)  // both in one bar: the stop
        #expect(approx(t.exitPrice, 95) && t.exitRule == "E1")
        // Short from 100: stop 105, target 90.
        t = try Self.exitTest((104, 106, 103, 105), short: true, stopLoss: 5)
        #expect(t.side == .short && approx(t.exitPrice, 105) && t.exitRule == "E1" && t.pnl == -5)
        t = try Self.exitTest((108, 109, 107, 108), short: true, stopLoss: 5)
        #expect(approx(t.exitPrice, 108) && t.exitRule == "E1")
        t = try Self.exitTest((95, 96, 89, 92), short: true, takeProfit: 10)
        #expect(approx(t.exitPrice, 90) && t.exitRule == "ZE1" && t.pnl == 10)
        t = try Self.exitTest((100, 106, 89, 100), short: true, stopLoss: 5, takeProfit: 10)
        #expect(approx(t.exitPrice, 105) && t.exitRule == "E1")
    }

    @Test func stopHitOnTheEntryBar() throws {
        // Filled at b2's open 100 and b2 itself reaches 94: out at 95 on the same bar.
        let bars = Bars.daily([(100, 100, 100, 100), (100, 100, 100, 100), (100, 101, 94, 96), (96, 97, 95, 96)])
        let strategy = Bars.rules([("IN", .entryLong, "close == 100 and open == 100")], stopLoss: 5)
        let t = try #require(
            try Bars.run(BacktestConfig(initialCapital: 1000, strategy: strategy, sizing: .fixedUnits(1)), bars).trades
                .first)
        #expect(t.entryIndex == 2 && t.exitIndex == 2 && approx(t.exitPrice, 95) && t.exitRule == "E1")
    }

    @Test func trailingStopFollowsTheHigh() throws {
        // In at 100; the next bar reaches 110 (stop 99); then a bar trades down to 98: out at 99.
        var t = try Self.exitTest((105, 106, 98, 100), trailing: 10, extra: [(101, 110, 100.5, 109)])
        #expect(approx(t.exitPrice, 99) && t.exitRule == "TS")
        // Before any new high the trail sits 10% under the entry: 90 (a gap to 85 fills at the open).
        t = try Self.exitTest((85, 86, 84, 85), trailing: 10)
        #expect(approx(t.exitPrice, 85) && t.exitRule == "TS")
        // With a tighter stop-loss the stop-loss is nearer and wins.
        t = try Self.exitTest((85, 86, 84, 85), stopLoss: 5, trailing: 10)
        #expect(approx(t.exitPrice, 85) && t.exitRule == "E1")
        // Short: lowest low 90 sets the stop at 99.
        t = try Self.exitTest((95, 100, 94, 99), short: true, trailing: 10, extra: [(99, 99.5, 90, 91)])
        #expect(approx(t.exitPrice, 99) && t.exitRule == "TS")
    }

    @Test func endOfData() throws {
        let bars = Bars.daily([(100, 100, 100, 100), (100, 101, 99, 101), (102, 103, 101, 102), (104, 106, 103, 105)])
        let strategy = Bars.rules([("IN", .entryLong, "close > 100.5 and close < 101.5")])
        // backtesting.py's finalize: closed at the last bar's open.
        var r = try Bars.run(BacktestConfig(initialCapital: 1000, strategy: strategy, sizing: .fixedUnits(1)), bars)
        #expect(
            r.trades.count == 1 && r.trades[0].exitPrice == 104 && r.trades[0].exitRule == "END"
                && r.trades[0].exitIndex == 3)
        #expect(r.equity.last?.equity == 1002 && r.stats.equityFinal == 1002)
        // At the last close.
        r = try Bars.run(
            BacktestConfig(initialCapital: 1000, strategy: strategy, sizing: .fixedUnits(1), endOfData: .lastClose),
            bars)
        #expect(r.trades[0].exitPrice == 105 && r.trades[0].exitRule == "END" && r.stats.equityFinal == 1003)
        // Left open: reported without an exit, not counted in the statistics.
        r = try Bars.run(
            BacktestConfig(initialCapital: 1000, strategy: strategy, sizing: .fixedUnits(1), leaveOpenAtEnd: true), bars
        )
        #expect(
            r.trades.count == 1 && r.trades[0].exitTime == nil && r.trades[0].exitPrice == 105 && r.trades[0].pnl == 3)
        #expect(r.stats.totalTrades == 0 && r.stats.equityFinal == 1003)
    }

    @Test func tickFillsAtTheNextTick() throws {
        let t0 = Bars.t0
        let ticks = [100, 100, 101, 102, 104, 103, 103].enumerated().map {
            Tick(time: t0 + Int64($0.offset) * 1_000_000, price: Double($0.element), size: 5)
        }
        let strategy = Bars.rules([
            ("IN", .entryLong, "price > 100.5 and price < 101.5"), ("OUT", .exitLong, "price > 103.5"),
        ])
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: 1000, strategy: strategy, sizing: .fixedUnits(2),
                equitySampleIntervalMicros: 3_000_000))
        try engine.process(ticks: ticks)
        let stats = engine.finish()
        let t = try #require(engine.takeTrades().first)
        // Signal on tick 2 (101): in at tick 3 (102). Signal on tick 4 (104): out at tick 5 (103).
        #expect(t.entryPrice == 102 && t.exitPrice == 103 && t.entryIndex == 3 && t.exitIndex == 5 && t.pnl == 2)
        #expect(stats.equityFinal == 1002)
        // Samples: every 3 s (ticks 0 and 3 and 6) and at the fills (3, 5); the last tick at the end.
        #expect(engine.takeEquity().map(\.time) == [0, 3, 5, 6].map { t0 + Int64($0) * 1_000_000 })
    }
}

/// The order manager's limit and stop orders (rules make market orders only).
@Suite struct OrderManagerTests {
    static func broker() -> Broker {
        let config = BacktestConfig(
            initialCapital: 10_000, strategy: .builtin(name: "default", params: [:]), sizing: .fixedUnits(1))
        return Broker(config: config, stopLossPct: 0, takeProfitPct: 0, trailingPct: 0)
    }

    static func fill(_ kind: Order.Kind, _ side: Order.Side, bar: (Double, Double, Double)) -> Double? {
        var b = broker()
        b.submit(Order(kind: kind, side: side, rule: "X"))
        b.process(index: 1, time: 0, open: bar.0, high: bar.1, low: bar.2, previousClose: 100, previousTime: 0)
        return b.trade?.entryPrice
    }

    @Test func limitOrders() {
        #expect(Self.fill(.limit(98), .buy, bar: (100, 101, 97)) == 98)
        #expect(Self.fill(.limit(98), .buy, bar: (96, 97, 95)) == 96)  // opened below the limit
        #expect(Self.fill(.limit(98), .buy, bar: (100, 101, 99)) == nil)
        #expect(Self.fill(.limit(102), .sell, bar: (100, 103, 99)) == 102)
        #expect(Self.fill(.limit(102), .sell, bar: (104, 105, 103)) == 104)
        #expect(Self.fill(.limit(102), .sell, bar: (100, 101, 99)) == nil)
    }

    @Test func stopOrders() {
        #expect(Self.fill(.stop(105), .buy, bar: (101, 106, 100)) == 105)
        #expect(Self.fill(.stop(105), .buy, bar: (107, 108, 106)) == 107)  // gapped through
        #expect(Self.fill(.stop(105), .buy, bar: (101, 104, 100)) == nil)
        #expect(Self.fill(.stop(95), .sell, bar: (99, 100, 94)) == 95)
        #expect(Self.fill(.stop(95), .sell, bar: (93, 94, 92)) == 93)
        #expect(Self.fill(.stop(95), .sell, bar: (99, 100, 96)) == nil)
    }

    @Test func pendingOrdersWaitAndCloseOrdersNet() {
        var b = Self.broker()
        b.submit(Order(kind: .limit(95), side: .buy, rule: "DIP"))
        b.process(index: 1, time: 1, open: 100, high: 101, low: 99, previousClose: 100, previousTime: 0)
        #expect(b.trade == nil && b.pending.count == 1)
        b.process(index: 2, time: 2, open: 97, high: 98, low: 94, previousClose: 100, previousTime: 1)
        #expect(b.trade?.entryPrice == 95 && b.pending.isEmpty)
        // A sell stop that closes the position.
        b.submit(Order(kind: .stop(93), side: .sell, closesPosition: true, rule: "CUT"))
        b.process(index: 3, time: 3, open: 96, high: 97, low: 92, previousClose: 96, previousTime: 2)
        #expect(b.trade == nil && b.closedTrades.last?.exitPrice == 93 && b.closedTrades.last?.exitRule == "CUT")
        #expect(b.closedTrades.last?.pnl == -2)
    }
}
