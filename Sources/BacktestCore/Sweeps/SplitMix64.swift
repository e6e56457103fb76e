/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the
/// sample a seed draws is the same on every machine and in every release.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound, without modulo bias (Lemire's rejection).
    mutating func next(below bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            let (high, low) = r.multipliedFullWidth(by: bound)
            if low >= threshold { return high }
        }
    }
}
