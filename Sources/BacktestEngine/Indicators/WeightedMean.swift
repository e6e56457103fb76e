/// Linearly weighted moving average (weights 1...n, newest heaviest). O(1): keeps the
/// plain sum and the weighted sum of the window and shifts both per value.
struct WeightedMean {
    let period: Int
    private let ring: UnsafeMutablePointer<Double>
    private let divisor: Double
    private var seen = 0
    private var sum = 0.0
    private var weighted = 0.0

    init(period: Int, arena: Arena) {
        self.period = period
        ring = arena.allocate(period)
        divisor = Double(period) * Double(period + 1) / 2
    }

    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        let slot = seen % period
        if seen >= period {
            // Every weight drops by one (subtract the old sum), the newest enters at n.
            weighted += Double(period) * x - sum
            sum += x - ring[slot]
        } else {
            weighted += Double(seen + 1) * x
            sum += x
        }
        ring[slot] = x
        seen += 1
        return seen >= period ? weighted / divisor : .nan
    }
}
