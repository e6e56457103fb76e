/// The direction of a position or trade.
public enum PositionSide: String, Sendable, Equatable, Hashable, Codable {
    case long
    case short
}

/// One trade: opened by a rule, closed by a rule, an exit (stop-loss "E1",
/// take-profit "ZE1", trailing stop "TS") or the end of data ("END").
public struct TradeRecord: Sendable, Equatable, Codable {
    /// 1-based, in entry order within the run.
    public var number: Int
    public var side: PositionSide
    /// Units, always positive.
    public var quantity: Double
    /// Microseconds since the epoch.
    public var entryTime: Int64
    /// nil while the trade is open (only with leave-open-at-end).
    public var exitTime: Int64?
    public var entryPrice: Double
    /// The last price for a trade still open.
    public var exitPrice: Double
    /// Profit or loss after commissions.
    public var pnl: Double
    /// backtesting.py's ReturnPct, in percent.
    public var returnPct: Double
    /// Commission paid on entry and exit.
    public var commission: Double
    public var entryRule: String
    public var exitRule: String
    /// Bar (or tick) indexes within the run.
    public var entryIndex: Int
    public var exitIndex: Int?

    public init(
        number: Int, side: PositionSide, quantity: Double, entryTime: Int64, exitTime: Int64?,
        entryPrice: Double, exitPrice: Double, pnl: Double, returnPct: Double, commission: Double,
        entryRule: String, exitRule: String, entryIndex: Int, exitIndex: Int?
    ) {
        self.number = number
        self.side = side
        self.quantity = quantity
        self.entryTime = entryTime
        self.exitTime = exitTime
        self.entryPrice = entryPrice
        self.exitPrice = exitPrice
        self.pnl = pnl
        self.returnPct = returnPct
        self.commission = commission
        self.entryRule = entryRule
        self.exitRule = exitRule
        self.entryIndex = entryIndex
        self.exitIndex = exitIndex
    }
}
