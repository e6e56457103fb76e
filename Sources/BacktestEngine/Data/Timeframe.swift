/// What a backtest runs on: ticks, or candles of a fixed interval ("1m", "4h", "1d").
public enum Timeframe: Sendable, Hashable, CustomStringConvertible {
    case tick
    /// Candles of this many seconds.
    case candles(seconds: Int64)

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var text: String
        public var description: String {
            "timeframe \"\(text)\" is not \"tick\" or a positive count followed by s, m, h or d (for example 1m, 4h, 1d)"
        }
    }

    /// Parses "tick" or N followed by s, m, h or d.
    public init(parsing text: String) throws(ParseError) {
        if text == "tick" {
            self = .tick
            return
        }
        guard let unit = text.last, text.count >= 2, text.count <= 12,
            let count = Int64(text.dropLast()), count > 0
        else { throw ParseError(text: text) }
        let multiplier: Int64
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3600
        case "d": multiplier = 86_400
        default: throw ParseError(text: text)
        }
        // Leading zeros or a sign would make two spellings of one timeframe.
        guard String(count) == String(text.dropLast()) else { throw ParseError(text: text) }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: multiplier)
        guard !overflow, seconds <= 366 * 86_400 else { throw ParseError(text: text) }
        self = .candles(seconds: seconds)
    }

    /// The canonical spelling: the largest unit that divides the interval.
    public var description: String {
        switch self {
        case .tick: return "tick"
        case .candles(let s):
            if s % 86_400 == 0 { return "\(s / 86_400)d" }
            if s % 3600 == 0 { return "\(s / 3600)h" }
            if s % 60 == 0 { return "\(s / 60)m" }
            return "\(s)s"
        }
    }

    /// The interval in microseconds; nil for ticks.
    public var micros: Int64? {
        if case .candles(let s) = self { return s * 1_000_000 }
        return nil
    }
}
