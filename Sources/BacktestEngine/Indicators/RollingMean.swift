/// Simple moving average of the last `n` values, computed the way pandas'
/// `rolling(n).mean()` does it (a running sum with Kahan compensation, one
/// compensation term for additions and one for removals, and an exact answer when the
/// window holds one repeated value). Matching pandas bit for bit keeps crossovers
/// tie-breaking exactly like backtesting.py's SMA. O(1) per value.
struct RollingMean {
    let period: Int
    private let ring: UnsafeMutablePointer<Double>
    private var seen = 0
    private var slot = 0
    private var sum = 0.0
    private var compensationAdd = 0.0
    private var compensationRemove = 0.0
    private var negatives = 0
    private var sameRun = 0
    private var previous = 0.0

    init(period: Int, arena: Arena) {
        self.period = period
        ring = arena.allocate(period)
    }

    /// The mean of the last `period` values, NaN until there are that many.
    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        if period == 1 { return x }
        if seen >= period {
            // Remove the value leaving the window before adding the new one (pandas' order).
            let old = ring[slot]
            let y = -old - compensationRemove
            let t = sum + y
            compensationRemove = t - sum - y
            sum = t
            if old.sign == .minus { negatives -= 1 }
        }
        ring[slot] = x
        slot += 1
        if slot == period { slot = 0 }
        seen += 1
        let y = x - compensationAdd
        let t = sum + y
        compensationAdd = t - sum - y
        sum = t
        if x.sign == .minus { negatives += 1 }
        if seen == 1 || x == previous { sameRun += 1 } else { sameRun = 1 }
        previous = x
        guard seen >= period else { return .nan }
        let nobs = period
        if sameRun >= nobs { return previous }
        let mean = sum / Double(nobs)
        if negatives == 0 && mean < 0 { return 0 }
        if negatives == nobs && mean > 0 { return 0 }
        return mean
    }
}
