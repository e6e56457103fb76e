/// MACD: the fast EMA minus the slow EMA (the line), an EMA of the line (the signal)
/// and their difference (the histogram). Each EMA is seeded with a simple mean. O(1).
struct MACD {
    private var fast: ExponentialMean
    private var slow: ExponentialMean
    private var signal: ExponentialMean

    init(fast: Int, slow: Int, signal: Int) {
        self.fast = ExponentialMean(period: fast)
        self.slow = ExponentialMean(period: slow)
        self.signal = ExponentialMean(period: signal)
    }

    @inline(__always)
    mutating func update(_ x: Double) -> (line: Double, signal: Double, histogram: Double) {
        let line = fast.update(x) - slow.update(x)
        guard !line.isNaN else { return (.nan, .nan, .nan) }
        let s = signal.update(line)
        return (line, s, line - s)
    }
}
