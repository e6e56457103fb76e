import Foundation

/// Returns between consecutive calendar periods (day, week, month or year) of the
/// equity curve, the way backtesting.py gets them: the last equity of every period that
/// has data, then `pct_change`. Streaming: only the running sums are kept.
struct PeriodReturns {
    private var bin = Int64.min
    private var binLast = Double.nan
    private var previousLast = Double.nan
    private(set) var count = 0
    private var sumLog = 0.0
    private var anyNonPositive = false
    private var mean = 0.0
    private var m2 = 0.0
    private var sumNegativeSquares = 0.0

    /// `equity` was the last value of period `newBin`... so far.
    @inline(__always)
    mutating func observe(bin newBin: Int64, equity: Double) {
        if newBin != bin {
            closeBin()
            bin = newBin
        }
        binLast = equity
    }

    /// Ends the current period (at a new period, and at the end of data).
    mutating func closeBin() {
        guard bin != Int64.min else { return }
        if !previousLast.isNaN {
            let r = binLast / previousLast - 1
            if !r.isNaN {
                count += 1
                let g = r + 1
                if g <= 0 { anyNonPositive = true } else { sumLog += log(g) }
                let delta = r - mean
                mean += delta / Double(count)
                m2 += delta * (r - mean)
                let neg = min(r, 0)
                sumNegativeSquares += neg * neg
            }
        }
        previousLast = binLast
        bin = Int64.min
    }

    /// backtesting.py's `geometric_mean`: 0 when a return is -100% or worse, NaN for none.
    var geometricMean: Double {
        if anyNonPositive { return 0 }
        guard count > 0 else { return .nan }
        return exp(sumLog / Double(count)) - 1
    }

    /// Sample variance (ddof = 1).
    var variance: Double { count > 1 ? m2 / Double(count - 1) : .nan }

    /// mean(min(r, 0)^2)
    var meanNegativeSquare: Double { count > 0 ? sumNegativeSquares / Double(count) : .nan }
}
