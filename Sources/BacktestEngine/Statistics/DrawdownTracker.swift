/// backtesting.py's drawdown bookkeeping, bar by bar: the running peak, the deepest
/// drawdown, and drawdown periods (from a bar at the peak to the next bar at a peak).
/// A small value: the bar loops copy it into a local, so it stays in registers, and
/// copy it back after the chunk.
struct DrawdownTracker {
    private(set) var peak = -Double.infinity
    private(set) var maxDrawdown = 0.0
    private(set) var zeroIndex = 0
    /// When the open period began (the first bar's time until a period closes).
    var zeroTime: Int64 = 0
    private(set) var periodPeak = 0.0
    // Closed periods.
    private(set) var periods = 0
    private(set) var durationSum = 0.0
    private(set) var durationMax: Int64 = 0
    private(set) var peakSum = 0.0

    /// Counts bar `index`; returns its drawdown (a fraction).
    @inline(__always)
    mutating func observe(index: Int, time: Int64, equity: Double) -> Double {
        if equity > peak { peak = equity }
        let dd = 1 - equity / peak
        if dd > maxDrawdown { maxDrawdown = dd }
        if dd == 0 {
            if index > zeroIndex + 1 { closePeriod(endTime: time) }
            zeroIndex = index
            zeroTime = time
            periodPeak = 0
        } else if dd > periodPeak {
            periodPeak = dd
        }
        return dd
    }

    /// The open period ends at `endTime`.
    mutating func closePeriod(endTime: Int64) {
        periods += 1
        let d = endTime - zeroTime
        durationSum += Double(d)
        durationMax = max(durationMax, d)
        peakSum += periodPeak
    }
}
