/// Highest (or lowest) of the last `n` values with a monotonic deque: each value is
/// pushed and popped at most once, so O(1) amortised per value.
struct RollingExtremum {
    let period: Int
    let highest: Bool
    private let values: UnsafeMutablePointer<Double>
    private let indexes: UnsafeMutablePointer<Double>
    private let mask: Int
    private var head = 0
    private var tail = 0
    private var seen = 0

    init(period: Int, highest: Bool, arena: Arena) {
        self.period = period
        self.highest = highest
        let capacity = ringCapacity(period + 1)
        mask = capacity - 1
        values = arena.allocate(capacity)
        indexes = arena.allocate(capacity)
    }

    @inline(__always)
    mutating func update(_ x: Double) -> Double {
        let i = seen
        // Drop the front when it left the window.
        if head != tail && Int(indexes[head & mask]) <= i - period { head += 1 }
        // Drop values the new one dominates.
        while head != tail {
            let last = values[(tail - 1) & mask]
            if highest ? last <= x : last >= x { tail -= 1 } else { break }
        }
        values[tail & mask] = x
        indexes[tail & mask] = Double(i)
        tail += 1
        seen += 1
        return seen >= period ? values[head & mask] : .nan
    }
}
