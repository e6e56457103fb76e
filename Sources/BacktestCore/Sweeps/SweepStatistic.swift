import BacktestEngine

/// A statistic a sweep can rank or sort by: its name in the contract (the `Statistics`
/// message's field, `sharpe_ratio`), its key in `BacktestStatistics` (the stored JSON's,
/// `sharpeRatio`) and its value. Durations rank by microseconds.
public struct SweepStatistic: Sendable {
    public let name: String
    public let key: String
    public let value: @Sendable (BacktestStatistics) -> Double

    public static let all: [SweepStatistic] = [
        .init("exposure_time_pct", "exposureTimePct") { $0.exposureTimePct },
        .init("equity_final", "equityFinal") { $0.equityFinal },
        .init("equity_peak", "equityPeak") { $0.equityPeak },
        .init("final_pnl", "finalPnl") { $0.finalPnl },
        .init("return_pct", "returnPct") { $0.returnPct },
        .init("buy_and_hold_return_pct", "buyAndHoldReturnPct") { $0.buyAndHoldReturnPct },
        .init("return_annualized_pct", "returnAnnualizedPct") { $0.returnAnnualizedPct },
        .init("volatility_annualized_pct", "volatilityAnnualizedPct") { $0.volatilityAnnualizedPct },
        .init("cagr_pct", "cagrPct") { $0.cagrPct },
        .init("sharpe_ratio", "sharpeRatio") { $0.sharpeRatio },
        .init("sortino_ratio", "sortinoRatio") { $0.sortinoRatio },
        .init("calmar_ratio", "calmarRatio") { $0.calmarRatio },
        .init("alpha_pct", "alphaPct") { $0.alphaPct },
        .init("beta", "beta") { $0.beta },
        .init("max_drawdown_pct", "maxDrawdownPct") { $0.maxDrawdownPct },
        .init("avg_drawdown_pct", "avgDrawdownPct") { $0.avgDrawdownPct },
        .init("max_drawdown_duration", "maxDrawdownDurationMicros") { Double($0.maxDrawdownDurationMicros) },
        .init("avg_drawdown_duration", "avgDrawdownDurationMicros") { Double($0.avgDrawdownDurationMicros) },
        .init("total_trades", "totalTrades") { Double($0.totalTrades) },
        .init("win_rate_pct", "winRatePct") { $0.winRatePct },
        .init("best_trade_pct", "bestTradePct") { $0.bestTradePct },
        .init("worst_trade_pct", "worstTradePct") { $0.worstTradePct },
        .init("avg_trade_pct", "avgTradePct") { $0.avgTradePct },
        .init("max_trade_duration", "maxTradeDurationMicros") { Double($0.maxTradeDurationMicros) },
        .init("avg_trade_duration", "avgTradeDurationMicros") { Double($0.avgTradeDurationMicros) },
        .init("profit_factor", "profitFactor") { $0.profitFactor },
        .init("expectancy_pct", "expectancyPct") { $0.expectancyPct },
        .init("sqn", "sqn") { $0.sqn },
        .init("kelly_criterion", "kellyCriterion") { $0.kellyCriterion },
        .init("commissions", "commissions") { $0.commissions },
    ]

    private init(_ name: String, _ key: String, _ value: @escaping @Sendable (BacktestStatistics) -> Double) {
        self.name = name
        self.key = key
        self.value = value
    }

    /// By contract name; nil for an unknown one.
    public static func named(_ name: String) -> SweepStatistic? { all.first { $0.name == name } }

    public static var names: String { all.map(\.name).joined(separator: ", ") }

    /// Whether `a` ranks before `b` (`a` and `b` the objective's values of combinations
    /// `i` and `j`): the better value first, NaN last whatever the direction, ties by
    /// combination, so every ranking is deterministic.
    public static func ranksBefore(_ a: Double, _ i: Int64, _ b: Double, _ j: Int64, maximize: Bool) -> Bool {
        switch (a.isNaN, b.isNaN) {
        case (false, true): return true
        case (true, false): return false
        case (true, true): return i < j
        case (false, false):
            if a != b { return maximize ? a > b : a < b }
            return i < j
        }
    }
}
