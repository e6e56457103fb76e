/// backtesting.py's statistics, with its definitions. Percentages are in percent;
/// durations in microseconds; an undefined value (the win rate of no trades) is NaN.
public struct BacktestStatistics: Sendable, Equatable, Codable {
    public var start: Int64 = 0
    public var end: Int64 = 0
    public var durationMicros: Int64 = 0
    public var exposureTimePct: Double = .nan
    public var equityFinal: Double = .nan
    public var equityPeak: Double = .nan
    /// equityFinal - initial capital.
    public var finalPnl: Double = .nan
    public var returnPct: Double = .nan
    public var buyAndHoldReturnPct: Double = .nan
    public var returnAnnualizedPct: Double = .nan
    public var volatilityAnnualizedPct: Double = .nan
    public var cagrPct: Double = .nan
    public var sharpeRatio: Double = .nan
    public var sortinoRatio: Double = .nan
    public var calmarRatio: Double = .nan
    public var alphaPct: Double = .nan
    public var beta: Double = .nan
    public var maxDrawdownPct: Double = .nan
    public var avgDrawdownPct: Double = .nan
    public var maxDrawdownDurationMicros: Int64 = 0
    public var avgDrawdownDurationMicros: Int64 = 0
    public var totalTrades: Int = 0
    public var winRatePct: Double = .nan
    public var bestTradePct: Double = .nan
    public var worstTradePct: Double = .nan
    public var avgTradePct: Double = .nan
    public var maxTradeDurationMicros: Int64 = 0
    public var avgTradeDurationMicros: Int64 = 0
    public var profitFactor: Double = .nan
    public var expectancyPct: Double = .nan
    public var sqn: Double = .nan
    public var kellyCriterion: Double = .nan
    /// Commissions paid over the whole run.
    public var commissions: Double = 0

    public init() {}

    // NaN is not equal to itself; two statistics with NaN in the same places are equal.
    public static func == (a: Self, b: Self) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        return a.start == b.start && a.end == b.end && a.durationMicros == b.durationMicros
            && same(a.exposureTimePct, b.exposureTimePct) && same(a.equityFinal, b.equityFinal)
            && same(a.equityPeak, b.equityPeak) && same(a.finalPnl, b.finalPnl)
            && same(a.returnPct, b.returnPct) && same(a.buyAndHoldReturnPct, b.buyAndHoldReturnPct)
            && same(a.returnAnnualizedPct, b.returnAnnualizedPct)
            && same(a.volatilityAnnualizedPct, b.volatilityAnnualizedPct) && same(a.cagrPct, b.cagrPct)
            && same(a.sharpeRatio, b.sharpeRatio) && same(a.sortinoRatio, b.sortinoRatio)
            && same(a.calmarRatio, b.calmarRatio) && same(a.alphaPct, b.alphaPct) && same(a.beta, b.beta)
            && same(a.maxDrawdownPct, b.maxDrawdownPct) && same(a.avgDrawdownPct, b.avgDrawdownPct)
            && a.maxDrawdownDurationMicros == b.maxDrawdownDurationMicros
            && a.avgDrawdownDurationMicros == b.avgDrawdownDurationMicros
            && a.totalTrades == b.totalTrades && same(a.winRatePct, b.winRatePct)
            && same(a.bestTradePct, b.bestTradePct) && same(a.worstTradePct, b.worstTradePct)
            && same(a.avgTradePct, b.avgTradePct)
            && a.maxTradeDurationMicros == b.maxTradeDurationMicros
            && a.avgTradeDurationMicros == b.avgTradeDurationMicros
            && same(a.profitFactor, b.profitFactor) && same(a.expectancyPct, b.expectancyPct)
            && same(a.sqn, b.sqn) && same(a.kellyCriterion, b.kellyCriterion)
            && same(a.commissions, b.commissions)
    }
}
