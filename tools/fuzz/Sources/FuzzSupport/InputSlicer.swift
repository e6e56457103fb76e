/// Deterministic choices drawn from an input (its hash seeds them), so a harness can
/// vary what the input alone does not say, such as where chunks split, and a crash
/// still reproduces from the input file.
public struct InputSlicer {
    private var state: UInt64

    public init(_ bytes: some Sequence<UInt8>) {
        // FNV-1a; never zero, which xorshift would keep.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        state = h | 1
    }

    /// A number in `range`.
    public mutating func next(in range: ClosedRange<Int>) -> Int {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return range.lowerBound + Int(state % UInt64(range.count))
    }

    /// Chunk sizes that add up to `total`, each in `sizes`.
    public mutating func chunks(total: Int, sizes: ClosedRange<Int>) -> [Int] {
        var out: [Int] = []
        var left = total
        while left > 0 {
            let n = min(left, next(in: sizes))
            out.append(n)
            left -= n
        }
        return out
    }
}
