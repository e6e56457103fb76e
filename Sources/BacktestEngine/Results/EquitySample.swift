/// One sample of the account on the equity curve.
public struct EquitySample: Sendable, Equatable, Codable {
    /// Microseconds since the epoch.
    public var time: Int64
    public var equity: Double
    public var cash: Double
    /// Signed position in units.
    public var positionSize: Double
    /// Drawdown from the peak so far, in percent (0 or negative).
    public var drawdownPct: Double

    public init(time: Int64, equity: Double, cash: Double, positionSize: Double, drawdownPct: Double) {
        self.time = time
        self.equity = equity
        self.cash = cash
        self.positionSize = positionSize
        self.drawdownPct = drawdownPct
    }
}
