/// Volume-weighted average of the typical price (high + low + close) / 3: over the last
/// `n` bars, or over the whole run when n is 0. NaN while the volume in the window is 0.
/// O(1).
struct VolumeWeightedPrice {
    let period: Int
    private let prices: UnsafeMutablePointer<Double>
    private let volumes: UnsafeMutablePointer<Double>
    private var seen = 0
    private var priceVolume = 0.0
    private var volume = 0.0

    init(period: Int, arena: Arena) {
        self.period = period
        prices = arena.allocate(period)
        volumes = arena.allocate(period)
    }

    @inline(__always)
    mutating func update(high: Double, low: Double, close: Double, volume v: Double) -> Double {
        let pv = (high + low + close) / 3 * v
        if period > 0 {
            let slot = seen % period
            if seen >= period {
                priceVolume -= prices[slot]
                volume -= volumes[slot]
            }
            prices[slot] = pv
            volumes[slot] = v
        }
        priceVolume += pv
        volume += v
        seen += 1
        if period > 0 && seen < period { return .nan }
        return volume > 0 ? priceVolume / volume : .nan
    }
}
