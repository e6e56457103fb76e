import Foundation
import Testing

@testable import BacktestEngine

/// Compares the engine's results with backtesting.py's JSON (ref_backtestingpy.py's
/// format): the trade list and every statistic, within `tolerance` relative.
enum ReferenceComparison {
    static let tolerance = 1e-6

    static func close(_ a: Double, _ b: Double, _ tol: Double = tolerance) -> Bool {
        if a.isNaN && b.isNaN { return true }
        if a == b { return true }
        return abs(a - b) <= tol * max(abs(a), abs(b), 1e-12)
    }

    /// Runs the SMA crossover as the reference's config says.
    static func run(candles: [Candle], config: [String: Any]) throws -> (BacktestStatistics, [TradeRecord]) {
        let n1 = (config["n1"] as! NSNumber).doubleValue
        let n2 = (config["n2"] as! NSNumber).doubleValue
        let commission = (config["commission"] as! NSNumber).doubleValue
        let cash = (config["cash"] as! NSNumber).doubleValue
        let onClose = (config["trade_on_close"] as! NSNumber).boolValue
        let engine = try Engine(
            config: BacktestConfig(
                initialCapital: cash, strategy: .builtin(name: "sma_cross", params: ["n1": n1, "n2": n2]),
                costs: .init(commissionRate: commission), fillMode: onClose ? .onClose : .nextOpen))
        try engine.process(candles: candles)
        let stats = engine.finish()
        return (stats, engine.takeTrades())
    }

    static let statFields: [(String, @Sendable (BacktestStatistics) -> Double)] = [
        ("Exposure Time [%]", { $0.exposureTimePct }), ("Equity Final [$]", { $0.equityFinal }),
        ("Equity Peak [$]", { $0.equityPeak }), ("Return [%]", { $0.returnPct }),
        ("Buy & Hold Return [%]", { $0.buyAndHoldReturnPct }), ("Return (Ann.) [%]", { $0.returnAnnualizedPct }),
        ("Volatility (Ann.) [%]", { $0.volatilityAnnualizedPct }), ("CAGR [%]", { $0.cagrPct }),
        ("Sharpe Ratio", { $0.sharpeRatio }), ("Sortino Ratio", { $0.sortinoRatio }),
        ("Calmar Ratio", { $0.calmarRatio }),
        ("Alpha [%]", { $0.alphaPct }), ("Beta", { $0.beta }), ("Max. Drawdown [%]", { $0.maxDrawdownPct }),
        ("Avg. Drawdown [%]", { $0.avgDrawdownPct }), ("# Trades", { Double($0.totalTrades) }),
        ("Win Rate [%]", { $0.winRatePct }), ("Best Trade [%]", { $0.bestTradePct }),
        ("Worst Trade [%]", { $0.worstTradePct }),
        ("Avg. Trade [%]", { $0.avgTradePct }), ("Profit Factor", { $0.profitFactor }),
        ("Expectancy [%]", { $0.expectancyPct }),
        ("SQN", { $0.sqn }), ("Kelly Criterion", { $0.kellyCriterion }),
    ]

    /// Every difference, as readable lines (empty when all match).
    static func differences(stats: BacktestStatistics, trades: [TradeRecord], reference: [String: Any]) -> [String] {
        var out: [String] = []
        let ref = reference["stats"] as! [String: Any]
        for (key, get) in statFields {
            let expected = (ref[key] as? NSNumber)?.doubleValue ?? (ref[key] as? String).flatMap { Double($0) } ?? .nan
            let actual = get(stats)
            if !close(actual, expected) { out.append("\(key): engine \(actual), backtesting.py \(expected)") }
        }
        if let c = (ref["Commissions [$]"] as? NSNumber)?.doubleValue, !close(stats.commissions, c) {
            out.append("Commissions: engine \(stats.commissions), backtesting.py \(c)")
        }
        let durations: [(String, Int64)] = [
            ("Start", stats.start), ("End", stats.end),
        ]
        for (key, t) in durations where (ref[key] as? String) != MarketCSV.pandasString(t) {
            out.append("\(key): engine \(MarketCSV.pandasString(t)), backtesting.py \(ref[key] ?? "nil")")
        }
        let spans: [(String, Int64)] = [
            ("Duration", stats.durationMicros), ("Max. Drawdown Duration", stats.maxDrawdownDurationMicros),
            ("Avg. Drawdown Duration", stats.avgDrawdownDurationMicros),
            ("Max. Trade Duration", stats.maxTradeDurationMicros),
            ("Avg. Trade Duration", stats.avgTradeDurationMicros),
        ]
        for (key, d) in spans {
            guard let expected = ref[key] as? String else { continue }
            let actual = MarketCSV.pandasDuration(d)
            // pandas prints sub-day durations as "0 days hh:mm:ss" as well.
            if actual != expected { out.append("\(key): engine \(actual), backtesting.py \(expected)") }
        }
        let refTrades = reference["trades"] as! [[String: Any]]
        let closed = trades.filter { $0.exitTime != nil }
        if closed.count != refTrades.count {
            out.append("trades: engine \(closed.count), backtesting.py \(refTrades.count)")
        }
        for (i, (t, r)) in zip(closed, refTrades).enumerated() {
            let size = (t.side == .long ? 1 : -1) * t.quantity
            let checks: [(String, Bool)] = [
                ("size", size == (r["size"] as! NSNumber).doubleValue),
                ("entry_time", MarketCSV.pandasString(t.entryTime) == r["entry_time"] as! String),
                ("exit_time", MarketCSV.pandasString(t.exitTime!) == r["exit_time"] as! String),
                ("entry_price", close(t.entryPrice, (r["entry_price"] as! NSNumber).doubleValue)),
                ("exit_price", close(t.exitPrice, (r["exit_price"] as! NSNumber).doubleValue)),
                ("pnl", close(t.pnl, (r["pnl"] as! NSNumber).doubleValue)),
            ]
            for (name, ok) in checks where !ok {
                out.append("trade \(i + 1) \(name): engine \(t), backtesting.py \(r)")
                break
            }
            if out.count > 20 { break }
        }
        return out
    }
}
