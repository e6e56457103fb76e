/// One OHLCV bar. `time` is the bar's open time in microseconds since the Unix epoch (UTC).
public struct Candle: Sendable, Equatable, Hashable {
    public var time: Int64
    public var open: Double
    public var high: Double
    public var low: Double
    public var close: Double
    public var volume: Double

    public init(time: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        self.time = time
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
    }
}
