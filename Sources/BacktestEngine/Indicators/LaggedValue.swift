/// The value `n` updates ago (NaN before there were that many): the memory behind
/// roc and momentum. O(1).
struct LaggedValue {
    let lag: Int
    private let ring: UnsafeMutablePointer<Double>
    private var seen = 0

    init(lag: Int, arena: Arena) {
        self.lag = lag
        ring = arena.allocate(lag)
    }

    /// Stores `x` and returns the value `lag` updates before it.
    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        let slot = seen % lag
        let old = seen >= lag ? ring[slot] : .nan
        ring[slot] = x
        seen += 1
        return old
    }
}
