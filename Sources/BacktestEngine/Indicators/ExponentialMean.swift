/// Exponential moving average with alpha = 2 / (n + 1), seeded with the simple mean of
/// the first `n` values (the TA-Lib convention); NaN before that. O(1).
struct ExponentialMean {
    let period: Int
    private let alpha: Double
    private var seen = 0
    private var seedSum = 0.0
    private var value = Double.nan

    init(period: Int) {
        self.period = period
        alpha = 2.0 / Double(period + 1)
    }

    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        seen += 1
        if seen < period {
            seedSum += x
            return .nan
        }
        if seen == period {
            seedSum += x
            value = seedSum / Double(period)
        } else {
            value += alpha * (x - value)
        }
        return value
    }
}
