/// Average true range with Wilder's smoothing. The true range is
/// max(high - low, |high - previous close|, |low - previous close|) (high - low on the
/// first bar); the first ATR is the mean of the first `n` true ranges, then
/// atr = (atr * (n - 1) + tr) / n. O(1).
struct AverageTrueRange {
    let period: Int
    private var previousClose = Double.nan
    private var seen = 0
    private var value = 0.0

    init(period: Int) { self.period = period }

    @inline(__always)
    mutating func update(high: Double, low: Double, close: Double) -> Double {
        var tr = high - low
        if !previousClose.isNaN {
            tr = max(tr, abs(high - previousClose), abs(low - previousClose))
        }
        previousClose = close
        seen += 1
        let n = Double(period)
        if seen <= period {
            value += tr
            guard seen == period else { return .nan }
            value /= n
            return value
        }
        value = (value * (n - 1) + tr) / n
        return value
    }
}
