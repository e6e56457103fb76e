import BacktestEngine
import TimeKit

/// What makes a market data row unusable, shared by the CSV parser (which adds the line
/// and column) and by every import (rows that arrive already parsed).
enum MarketRowCheck {
    struct Problem: Equatable {
        var column: String
        var message: String
    }

    static func problem(_ candle: Candle) -> Problem? {
        for (name, value) in [
            ("open", candle.open), ("high", candle.high), ("low", candle.low), ("close", candle.close),
        ] {
            if let p = price(name, value) { return p }
        }
        if candle.high < candle.low {
            return Problem(column: "high", message: "high \(candle.high) is below low \(candle.low)")
        }
        return quantity("volume", candle.volume)
    }

    static func problem(_ tick: Tick) -> Problem? {
        price("price", tick.price) ?? quantity("size", tick.size)
    }

    static func price(_ column: String, _ value: Double) -> Problem? {
        if value.isNaN { return Problem(column: column, message: "\(column) is NaN") }
        if !value.isFinite { return Problem(column: column, message: "\(column) is infinite") }
        if value <= 0 { return Problem(column: column, message: "\(column) \(value) is not positive") }
        return nil
    }

    static func quantity(_ column: String, _ value: Double) -> Problem? {
        if value.isNaN { return Problem(column: column, message: "\(column) is NaN") }
        if !value.isFinite { return Problem(column: column, message: "\(column) is infinite") }
        if value < 0 { return Problem(column: column, message: "\(column) \(value) is negative") }
        return nil
    }

    /// Candles need strictly increasing times; ticks may share a time (same-microsecond
    /// prints are legal) but never go back.
    static func order(previous: Int64?, time: Int64, strictly: Bool) -> Problem? {
        guard let previous else { return nil }
        if time < previous {
            return Problem(
                column: "time",
                message:
                    "time \(UTCTime.format(time)) is before the previous row's \(UTCTime.format(previous)) (rows must be sorted by time)"
            )
        }
        if strictly && time == previous {
            return Problem(column: "time", message: "duplicate time \(UTCTime.format(time))")
        }
        return nil
    }
}
