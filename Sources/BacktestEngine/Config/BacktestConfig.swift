/// Everything the engine needs to run, apart from the data. Pure values: the service
/// builds one from a StartBacktest request.
public struct BacktestConfig: Sendable, Equatable {
    public enum FillMode: Sendable, Equatable {
        /// An order made on bar i fills at bar i+1's open (ticks: the next tick).
        case nextOpen
        /// An order made on bar i fills at bar i's close.
        case onClose
    }

    public enum SizingMode: Sendable, Equatable {
        case allEquity
        /// A fraction of available equity, in (0, 1].
        case equityFraction(Double)
        case fixedUnits(Double)
        /// A notional amount in account currency.
        case fixedNotional(Double)
    }

    public struct Costs: Sendable, Equatable {
        /// Per fill, in account currency.
        public var commissionFixed: Double
        /// Per fill, a fraction of the notional (0.002 = 0.2%).
        public var commissionRate: Double
        /// Adverse slippage or half-spread in basis points.
        public var slippageBps: Double

        public init(commissionFixed: Double = 0, commissionRate: Double = 0, slippageBps: Double = 0) {
            self.commissionFixed = commissionFixed
            self.commissionRate = commissionRate
            self.slippageBps = slippageBps
        }
    }

    /// How the position still open at the end of data is closed (unless leaveOpenAtEnd).
    public enum EndOfData: Sendable, Equatable {
        /// As backtesting.py's finalize_trades: a closing order made after the last bar
        /// and filled by running the last bar's order processing once more, so at the
        /// last bar's open (with fill-on-close: at the previous bar's close, recorded
        /// there). Orders made on the last bar are processed in that same pass. The default,
        /// so results compare with backtesting.py.
        case backtestingPy
        /// At the last bar's close (slippage and commission applied); orders made on the
        /// last bar are dropped.
        case lastClose
    }

    public var initialCapital: Double
    public var strategy: StrategyDefinition
    public var costs: Costs
    public var fillMode: FillMode
    public var sizing: SizingMode
    /// Whole units unless set.
    public var fractionalUnits: Bool
    /// Leave the last position open at the end (backtesting.py's finalize_trades=False).
    public var leaveOpenAtEnd: Bool
    /// Tick runs: the equity curve is sampled this often (plus at every trade).
    public var equitySampleIntervalMicros: Int64
    public var endOfData: EndOfData

    public init(
        initialCapital: Double, strategy: StrategyDefinition, costs: Costs = Costs(),
        fillMode: FillMode = .nextOpen, sizing: SizingMode = .allEquity, fractionalUnits: Bool = false,
        leaveOpenAtEnd: Bool = false, equitySampleIntervalMicros: Int64 = 60_000_000,
        endOfData: EndOfData = .backtestingPy
    ) {
        self.initialCapital = initialCapital
        self.strategy = strategy
        self.costs = costs
        self.fillMode = fillMode
        self.sizing = sizing
        self.fractionalUnits = fractionalUnits
        self.leaveOpenAtEnd = leaveOpenAtEnd
        self.equitySampleIntervalMicros = equitySampleIntervalMicros
        self.endOfData = endOfData
    }
}
