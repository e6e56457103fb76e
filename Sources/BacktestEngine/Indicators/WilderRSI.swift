/// Relative strength index with Wilder's smoothing: the first average gain and loss are
/// simple means of the first `n` changes, then avg = (avg * (n - 1) + change) / n.
/// 100 when there are no losses (50 when nothing moved). O(1).
struct WilderRSI {
    let period: Int
    private var previous = Double.nan
    private var changes = 0
    private var gain = 0.0
    private var loss = 0.0

    init(period: Int) { self.period = period }

    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        defer { previous = x }
        guard !previous.isNaN else { return .nan }
        let change = x - previous
        let up = change > 0 ? change : 0
        let down = change < 0 ? -change : 0
        changes += 1
        let n = Double(period)
        if changes <= period {
            gain += up
            loss += down
            guard changes == period else { return .nan }
            gain /= n
            loss /= n
        } else {
            gain = (gain * (n - 1) + up) / n
            loss = (loss * (n - 1) + down) / n
        }
        if loss == 0 { return gain == 0 ? 50 : 100 }
        return 100 - 100 / (1 + gain / loss)
    }
}
