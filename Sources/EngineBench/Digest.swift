import BacktestEngine
import Foundation

/// `engine-bench FILE digest`: runs a fixed set of strategies over the bars in several
/// batch sizes and prints a hash of every result bit (statistics, trades, equity
/// samples), so a speed change can be checked to leave the results bit-identical.
enum Digest {
    /// FNV-1a over 64-bit words.
    struct Hasher64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        mutating func add(_ x: UInt64) {
            h ^= x
            h = h &* 0x100_0000_01b3
        }
        mutating func add(_ x: Double) { add(x.bitPattern) }
        mutating func add(_ x: Int64) { add(UInt64(bitPattern: x)) }
        mutating func add(_ x: Int) { add(UInt64(bitPattern: Int64(x))) }
        mutating func add(_ s: String) {
            for b in s.utf8 { add(UInt64(b)) }
            add(UInt64.max)
        }
    }

    static let configs: [(String, BacktestConfig)] = {
        func rules(
            _ name: String, _ list: [(String, StrategyDefinition.RuleKind, String)], sl: Double = 0, tp: Double = 0,
            ts: Double = 0, same: SameSideEntry = .ignore
        ) -> StrategyDefinition {
            .rules(
                .init(
                    name: name, rules: list.map { .init(name: $0.0, kind: $0.1, expression: $0.2) },
                    stopLossPct: sl, takeProfitPct: tp, trailingStopPct: ts, sameSideEntry: same))
        }
        let capital = 1_000_000.0
        return [
            (
                "sma 10/20",
                BacktestConfig(
                    initialCapital: capital, strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20]))
            ),
            (
                "sma 7/30 onClose 0.1%",
                BacktestConfig(
                    initialCapital: capital, strategy: .builtin(name: "sma_cross", params: ["n1": 7, "n2": 30]),
                    costs: .init(commissionRate: 0.001), fillMode: .onClose)
            ),
            ("default", BacktestConfig(initialCapital: capital, strategy: .builtin(name: "default", params: [:]))),
            (
                "default lastClose leaveOpen",
                BacktestConfig(
                    initialCapital: capital, strategy: .builtin(name: "default", params: ["trailing_stop_pct": 2]),
                    leaveOpenAtEnd: true, endOfData: .lastClose)
            ),
            (
                "rsi/ema/macd shorts sl tp ts",
                BacktestConfig(
                    initialCapital: capital,
                    strategy: rules(
                        "mix",
                        [
                            ("L", .entryLong, "rsi(close, 14) < 30 and close > ema(close, 50)"),
                            ("XL", .exitLong, "macd_hist(close, 12, 26, 9) crosses_below 0"),
                            ("S", .entryShort, "rsi(close, 14) > 70 or close < bbands_lower(close, 20, 2)"),
                            ("XS", .exitShort, "close crosses_above vwap(50) and atr(14) > 0"),
                        ], sl: 1, tp: 2, ts: 0.5),
                    costs: .init(commissionFixed: 1, commissionRate: 0.0005, slippageBps: 2),
                    sizing: .equityFraction(0.5))
            ),
            (
                "wma/stddev/lags fixed",
                BacktestConfig(
                    initialCapital: capital,
                    strategy: rules(
                        "lags",
                        [
                            (
                                "L", .entryLong,
                                "wma(close, 9) > wma(close, 21) and close[3] < close and highest(high, 10) - lowest(low, 10) > stddev(close, 20)"
                            ),
                            ("S", .entryShort, "roc(close, 5) < -0.2 or momentum(close, 3) < -0.5 * volume_ratio(20)"),
                        ], same: .reopen),
                    sizing: .fixedUnits(100), fractionalUnits: true)
            ),
        ]
    }()

    static func run(bars: UnsafeBufferPointer<Candle>) throws {
        for (name, config) in configs {
            var line = ""
            for batch in [1, 7, 4096, bars.count] {
                let engine = try Engine(config: config)
                var h = Hasher64()
                var trades = 0
                func drain() {
                    for t in engine.takeTrades() {
                        trades += 1
                        h.add(t.number)
                        h.add(t.side.rawValue)
                        h.add(t.quantity)
                        h.add(t.entryTime)
                        h.add(t.exitTime ?? -1)
                        h.add(t.entryPrice)
                        h.add(t.exitPrice)
                        h.add(t.pnl)
                        h.add(t.returnPct)
                        h.add(t.commission)
                        h.add(t.entryRule)
                        h.add(t.exitRule)
                        h.add(t.entryIndex)
                        h.add(t.exitIndex ?? -1)
                    }
                    for s in engine.takeEquity() {
                        h.add(s.time)
                        h.add(s.equity)
                        h.add(s.cash)
                        h.add(s.positionSize)
                        h.add(s.drawdownPct)
                    }
                    let p = engine.progress
                    h.add(p.simTime ?? -1)
                    h.add(p.eventsProcessed)
                    h.add(p.equity)
                    h.add(p.cash)
                    h.add(p.realizedPnl)
                    h.add(p.unrealizedPnl)
                    h.add(p.drawdownPct)
                    h.add(p.maxDrawdownPct)
                    h.add(p.positionSize)
                    h.add(p.openPositions)
                    h.add(p.closedTrades)
                }
                var i = 0
                while i < bars.count {
                    let end = min(bars.count, i + batch)
                    try engine.process(candles: UnsafeBufferPointer(rebasing: bars[i..<end]))
                    if batch >= 4096 { drain() } else if end == bars.count { drain() }
                    i = end
                }
                let s = engine.finish()
                drain()
                // The statistics hash apart too: a change to them alone shows as such.
                var hs = Hasher64()
                for x in [
                    s.exposureTimePct, s.equityFinal, s.equityPeak, s.finalPnl, s.returnPct, s.buyAndHoldReturnPct,
                    s.returnAnnualizedPct, s.volatilityAnnualizedPct, s.cagrPct, s.sharpeRatio, s.sortinoRatio,
                    s.calmarRatio, s.alphaPct, s.beta, s.maxDrawdownPct, s.avgDrawdownPct, s.winRatePct,
                    s.bestTradePct, s.worstTradePct, s.avgTradePct, s.profitFactor, s.expectancyPct, s.sqn,
                    s.kellyCriterion, s.commissions,
                ] { hs.add(x) }
                for x in [
                    s.start, s.end, s.durationMicros, s.maxDrawdownDurationMicros, s.avgDrawdownDurationMicros,
                    s.maxTradeDurationMicros, s.avgTradeDurationMicros,
                ] { hs.add(x) }
                hs.add(s.totalTrades)
                if batch == bars.count && ProcessInfo.processInfo.environment["ENGINE_DIGEST_VALUES"] != nil {
                    // Every statistic in full, to compare two builds number by number.
                    for (i, x) in [
                        s.exposureTimePct, s.equityFinal, s.equityPeak, s.finalPnl, s.returnPct, s.buyAndHoldReturnPct,
                        s.returnAnnualizedPct, s.volatilityAnnualizedPct, s.cagrPct, s.sharpeRatio, s.sortinoRatio,
                        s.calmarRatio, s.alphaPct, s.beta, s.maxDrawdownPct, s.avgDrawdownPct, s.winRatePct,
                        s.bestTradePct, s.worstTradePct, s.avgTradePct, s.profitFactor, s.expectancyPct, s.sqn,
                        s.kellyCriterion, s.commissions,
                    ].enumerated() {
                        print("value \(name) \(i) \(x)")
                    }
                }
                line += " b\(batch)=" + String(h.h, radix: 16) + "/\(trades) s=" + String(hs.h, radix: 16)
            }
            print("digest \(name):\(line)")
        }
    }
}
