/// Candle runs over consecutive, disjoint ranges joined into one account: a
/// walk-forward's out-of-sample runs (docs/DESIGN.md section 13.9). Each run is appended
/// with the closes of its bars, its equity curve (one sample per bar) and its trades; the
/// result is one equity curve (drawdowns from the stitched peak), one trade list
/// (renumbered, bar indexes counted over the stitched bars) and backtesting.py's
/// statistics of that curve and those trades, as `compute_stats` gives them for the
/// stitched data with no warm-up (buy and hold from the first close).
public struct StitchedRun: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        /// A run's equity curve does not have one sample per bar.
        case samplesPerBar(bars: Int, samples: Int)
        /// A run starts before the previous one ended.
        case overlapping(time: Int64, previous: Int64)
    }

    private var accumulator: StatisticsAccumulator
    public private(set) var equity: [EquitySample] = []
    public private(set) var trades: [TradeRecord] = []
    private var tradeCount = 0
    private var lastTime: Int64?

    /// `initialCapital` is the first run's: returns are measured from it.
    public init(initialCapital: Double) {
        accumulator = StatisticsAccumulator(initialCapital: initialCapital)
    }

    /// Bars so far.
    public var bars: Int { accumulator.bars }

    /// Appends one run: `closes[i]` is the close of the bar of `equity[i]`.
    public mutating func append(closes: [Double], equity runEquity: [EquitySample], trades runTrades: [TradeRecord])
        throws(Failure)
    {
        guard closes.count == runEquity.count else {
            throw .samplesPerBar(bars: closes.count, samples: runEquity.count)
        }
        if let last = lastTime, let first = runEquity.first, first.time <= last {
            throw .overlapping(time: first.time, previous: last)
        }
        if let last = runEquity.last { lastTime = last.time }
        let offset = accumulator.bars
        if offset == 0, let first = closes.first { accumulator.buyAndHoldBase = first }
        equity.reserveCapacity(equity.count + runEquity.count)
        for (i, sample) in runEquity.enumerated() {
            accumulator.commit(index: offset + i, time: sample.time, close: closes[i], equity: sample.equity)
            let d = accumulator.lastDrawdown
            var stitched = sample
            stitched.drawdownPct = d == 0 ? 0 : -d * 100
            equity.append(stitched)
        }
        for var t in runTrades {
            tradeCount += 1
            t.number = tradeCount
            t.entryIndex += offset
            t.exitIndex = t.exitIndex.map { $0 + offset }
            if let exitIndex = t.exitIndex, let exitTime = t.exitTime {
                accumulator.addTrade(
                    pnl: t.pnl, returnFraction: t.returnPct / 100, entryIndex: t.entryIndex, exitIndex: exitIndex,
                    duration: exitTime - t.entryTime, commission: t.commission)
            } else {
                // Left open at its run's end: out of the statistics, as the engine does.
                accumulator.addOpenCommission(t.commission)
            }
            trades.append(t)
        }
    }

    /// The stitched equity and trades appended since the last take, handed over: the
    /// caller decides where they go (the statistics need none of them).
    public mutating func take() -> (trades: [TradeRecord], equity: [EquitySample]) {
        defer {
            trades = []
            equity = []
        }
        return (trades, equity)
    }

    /// The statistics of everything appended.
    public func statistics() -> BacktestStatistics {
        var copy = accumulator
        return copy.finish(warmupBars: 0)
    }
}
