import BacktestEngine

/// Deterministic market data for tests and benchmarks: the same seed gives the same
/// rows on every machine (SplitMix64, no Foundation randomness, no floating-point
/// functions whose results differ between libm versions).
public struct SyntheticMarketData: Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double {
        Double(nextUInt64() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `count` candles every `intervalMicros` from `start`: a random walk of closes
    /// (steps up to +-0.2 %), each bar opening at the previous close, prices rounded to
    /// cents, volumes between 1,000 and 100,000.
    public mutating func candles(
        count: Int, start: Int64 = 1_704_067_200_000_000, intervalMicros: Int64 = 60_000_000,
        startPrice: Double = 100
    ) -> [Candle] {
        var out: [Candle] = []
        out.reserveCapacity(count)
        var price = startPrice
        for i in 0..<count {
            let open = price
            let close = max(0.01, (open * (1 + (nextUnit() - 0.5) * 0.004) * 100).rounded() / 100)
            let high = ((max(open, close) * (1 + nextUnit() * 0.001)) * 100).rounded(.up) / 100
            let low = max(0.01, ((min(open, close) * (1 - nextUnit() * 0.001)) * 100).rounded(.down) / 100)
            let volume = Double(1000 + nextUInt64() % 99_001)
            out.append(
                Candle(
                    time: start + Int64(i) * intervalMicros, open: open, high: high, low: low, close: close,
                    volume: volume))
            price = close
        }
        return out
    }

    /// `count` ticks from `start`, gaps of 0 to `maxGapMicros` (a gap of 0, about one
    /// tick in eight, puts two prints at the same microsecond), prices a random walk in
    /// cents, sizes 1 to 500.
    public mutating func ticks(
        count: Int, start: Int64 = 1_704_067_200_000_000, maxGapMicros: Int64 = 250_000,
        startPrice: Double = 100
    ) -> [Tick] {
        var out: [Tick] = []
        out.reserveCapacity(count)
        var cents = Int64((startPrice * 100).rounded())
        var time = start
        for _ in 0..<count {
            let r = nextUInt64()
            if r % 8 != 0 { time += Int64((r >> 8) % UInt64(maxGapMicros)) + 1 }
            cents = max(1, cents + Int64((r >> 40) % 7) - 3)
            out.append(Tick(time: time, price: Double(cents) / 100, size: Double(1 + (r >> 20) % 500)))
        }
        return out
    }
}
