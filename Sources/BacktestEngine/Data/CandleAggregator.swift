import TimeKit

/// Builds candles of a fixed interval from ticks, or coarser candles from finer ones,
/// streaming: one candle in progress at a time. A candle's time is the start of its
/// interval (intervals are aligned to the Unix epoch, UTC); intervals with no data make
/// no candle. Input must be in time order (equal times are fine: several prints in one
/// microsecond).
public struct CandleAggregator: Sendable {
    public let intervalMicros: Int64
    private var current: Candle?
    private var lastTime = Int64.min
    private var rows = 0

    public init(intervalMicros: Int64) {
        precondition(intervalMicros > 0, "the candle interval must be positive")
        self.intervalMicros = intervalMicros
    }

    /// nil for `.tick`.
    public init?(timeframe: Timeframe) {
        guard let micros = timeframe.micros else { return nil }
        self.init(intervalMicros: micros)
    }

    /// The start of the interval holding `time`.
    public func bucket(of time: Int64) -> Int64 {
        UTCTime.floorDiv(time, intervalMicros) * intervalMicros
    }

    /// Adds one tick; returns the candle it completed, if any.
    public mutating func add(_ tick: Tick) throws(EngineError) -> Candle? {
        try add(
            time: tick.time, open: tick.price, high: tick.price, low: tick.price, close: tick.price, volume: tick.size)
    }

    /// Adds one finer candle; returns the coarser candle it completed, if any.
    public mutating func add(_ candle: Candle) throws(EngineError) -> Candle? {
        try add(
            time: candle.time, open: candle.open, high: candle.high, low: candle.low, close: candle.close,
            volume: candle.volume)
    }

    public mutating func add(ticks: some Sequence<Tick>, into out: inout [Candle]) throws(EngineError) {
        for t in ticks { if let c = try add(t) { out.append(c) } }
    }

    public mutating func add(candles: some Sequence<Candle>, into out: inout [Candle]) throws(EngineError) {
        for c in candles { if let done = try add(c) { out.append(done) } }
    }

    /// The candle in progress (at the end of data), and a fresh start.
    public mutating func flush() -> Candle? {
        defer { current = nil }
        return current
    }

    private mutating func add(time: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double)
        throws(EngineError) -> Candle?
    {
        if time < lastTime { throw .timeOutOfOrder(row: rows, time: time, previous: lastTime) }
        lastTime = time
        rows += 1
        let start = bucket(of: time)
        if var c = current, c.time == start {
            c.high = max(c.high, high)
            c.low = min(c.low, low)
            c.close = close
            c.volume += volume
            current = c
            return nil
        }
        let done = current
        current = Candle(time: start, open: open, high: high, low: low, close: close, volume: volume)
        return done
    }

    /// All candles of `ticks` (the last one included).
    public static func candles(from ticks: [Tick], intervalMicros: Int64) throws(EngineError) -> [Candle] {
        var a = CandleAggregator(intervalMicros: intervalMicros)
        var out: [Candle] = []
        try a.add(ticks: ticks, into: &out)
        if let last = a.flush() { out.append(last) }
        return out
    }

    /// All coarser candles of `candles` (the last one included).
    public static func candles(from candles: [Candle], intervalMicros: Int64) throws(EngineError) -> [Candle] {
        var a = CandleAggregator(intervalMicros: intervalMicros)
        var out: [Candle] = []
        try a.add(candles: candles, into: &out)
        if let last = a.flush() { out.append(last) }
        return out
    }
}
