/// Bollinger bands: the simple mean of the last `n` values plus and minus `k` population
/// standard deviations. O(1).
struct BollingerBands {
    private var mean: RollingMean
    private var deviation: RollingDeviation
    let width: Double

    init(period: Int, width: Double, arena: Arena) {
        mean = RollingMean(period: period, arena: arena)
        deviation = RollingDeviation(period: period, arena: arena)
        self.width = width
    }

    @inline(__always)
    mutating func update(_ x: Double) -> (upper: Double, middle: Double, lower: Double) {
        let m = mean.update(x)
        let d = deviation.update(x)
        return (m + width * d, m, m - width * d)
    }
}
