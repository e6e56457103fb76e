/// The account and the run's position in the data, for progress events.
public struct EngineProgress: Sendable, Equatable {
    /// Time (µs) of the last processed bar or tick; nil before any.
    public var simTime: Int64?
    /// Bars or ticks processed.
    public var eventsProcessed: Int
    public var equity: Double
    /// Equity minus the position's market value.
    public var cash: Double
    /// P&L of closed trades, after commissions.
    public var realizedPnl: Double
    /// P&L of the open trade at the last price, after its entry commission.
    public var unrealizedPnl: Double
    /// Current drawdown from the equity peak, percent (0 or negative).
    public var drawdownPct: Double
    /// Deepest drawdown so far, percent (0 or negative).
    public var maxDrawdownPct: Double
    /// Signed units.
    public var positionSize: Double
    /// 0 or 1.
    public var openPositions: Int
    public var closedTrades: Int

    public init(
        simTime: Int64?, eventsProcessed: Int, equity: Double, cash: Double, realizedPnl: Double,
        unrealizedPnl: Double, drawdownPct: Double, maxDrawdownPct: Double, positionSize: Double,
        openPositions: Int, closedTrades: Int
    ) {
        self.simTime = simTime
        self.eventsProcessed = eventsProcessed
        self.equity = equity
        self.cash = cash
        self.realizedPnl = realizedPnl
        self.unrealizedPnl = unrealizedPnl
        self.drawdownPct = drawdownPct
        self.maxDrawdownPct = maxDrawdownPct
        self.positionSize = positionSize
        self.openPositions = openPositions
        self.closedTrades = closedTrades
    }
}
