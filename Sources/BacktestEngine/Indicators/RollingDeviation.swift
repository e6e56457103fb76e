/// Rolling population standard deviation (ddof = 0) of the last `n` values, with the
/// sliding-window form of Welford's update so it stays accurate over long runs. O(1).
struct RollingDeviation {
    let period: Int
    private let ring: UnsafeMutablePointer<Double>
    private var seen = 0
    private var mean = 0.0
    private var m2 = 0.0

    init(period: Int, arena: Arena) {
        self.period = period
        ring = arena.allocate(period)
    }

    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        let slot = seen % period
        if seen >= period {
            let old = ring[slot]
            let oldMean = mean
            mean += (x - old) / Double(period)
            m2 += (x - old) * (x - mean + old - oldMean)
        } else {
            let delta = x - mean
            mean += delta / Double(seen + 1)
            m2 += delta * (x - mean)
        }
        ring[slot] = x
        seen += 1
        guard seen >= period else { return .nan }
        return m2 > 0 ? (m2 / Double(period)).squareRoot() : 0
    }
}
