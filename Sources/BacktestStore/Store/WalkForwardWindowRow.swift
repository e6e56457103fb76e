import BacktestEngine

/// One window of a walk-forward (docs/DESIGN.md section 13.9): the in-sample range swept,
/// its best combination and objective value, and how that combination did on the
/// out-of-sample range after it.
public struct WalkForwardWindowRow: Sendable, Equatable {
    /// 0-based, in time order.
    public var index: Int
    public var inSample: TimeRange
    public var outOfSample: TimeRange
    /// The in-sample winner's combination number and parameters; nil and empty when the
    /// window has none (see `error`).
    public var combination: Int64?
    public var params: [SweepParam]
    /// The winner's objective value and statistics in sample (NaN and nil when none).
    public var inSampleValue: Double
    public var inSampleStatistics: BacktestStatistics?
    /// The capital the out-of-sample run started with.
    public var initialCapital: Double
    public var outOfSampleStatistics: BacktestStatistics?
    /// Why the window has no result.
    public var error: String

    public init(
        index: Int, inSample: TimeRange, outOfSample: TimeRange, combination: Int64? = nil, params: [SweepParam] = [],
        inSampleValue: Double = .nan, inSampleStatistics: BacktestStatistics? = nil, initialCapital: Double = .nan,
        outOfSampleStatistics: BacktestStatistics? = nil, error: String = ""
    ) {
        self.index = index
        self.inSample = inSample
        self.outOfSample = outOfSample
        self.combination = combination
        self.params = params
        self.inSampleValue = inSampleValue
        self.inSampleStatistics = inSampleStatistics
        self.initialCapital = initialCapital
        self.outOfSampleStatistics = outOfSampleStatistics
        self.error = error
    }

    // NaN equals NaN here: rows compare by content.
    public static func == (a: Self, b: Self) -> Bool {
        func same(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }
        return a.index == b.index && a.inSample == b.inSample && a.outOfSample == b.outOfSample
            && a.combination == b.combination && a.params == b.params && same(a.inSampleValue, b.inSampleValue)
            && a.inSampleStatistics == b.inSampleStatistics && same(a.initialCapital, b.initialCapital)
            && a.outOfSampleStatistics == b.outOfSampleStatistics && a.error == b.error
    }
}
