import TimeKit

/// Why a batch was refused. Data errors name the row (0-based, counted over the whole
/// run) and its time; strategy runtime errors name the rule, the operator's position in
/// its text, the bar and its time. Rows before the bad one were processed.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The row's time is before the previous row's (candles and ticks).
    case timeOutOfOrder(row: Int, time: Int64, previous: Int64)
    /// The row's time equals the previous row's (candles only: ticks may share a time).
    case duplicateTime(row: Int, time: Int64)
    /// A price that is NaN, infinite, zero or negative (`field` is open, high, low, close or price).
    case invalidPrice(row: Int, time: Int64, field: String, value: Double)
    case highBelowLow(row: Int, time: Int64, high: Double, low: Double)
    /// Volume NaN, infinite or negative.
    case invalidVolume(row: Int, time: Int64, value: Double)
    /// A tick's size NaN, infinite, zero or negative.
    case invalidTickSize(row: Int, time: Int64, value: Double)
    /// A division whose divisor was exactly 0 while evaluating a rule.
    case divisionByZero(rule: String, position: Int, bar: Int, time: Int64)
    /// Candles after ticks or ticks after candles in one run.
    case mixedData(row: Int, expected: String)
    /// process(...) after finish().
    case finished

    public var description: String {
        switch self {
        case .timeOutOfOrder(let row, let time, let previous):
            return
                "row \(row) at \(UTCTime.format(time)): time is before the previous row's \(UTCTime.format(previous)); data must be sorted by time"
        case .duplicateTime(let row, let time):
            return "row \(row) at \(UTCTime.format(time)): duplicate time (the previous row has the same time)"
        case .invalidPrice(let row, let time, let field, let value):
            return "row \(row) at \(UTCTime.format(time)): \(field) is \(value); prices must be finite and > 0"
        case .highBelowLow(let row, let time, let high, let low):
            return "row \(row) at \(UTCTime.format(time)): high \(high) is below low \(low)"
        case .invalidVolume(let row, let time, let value):
            return "row \(row) at \(UTCTime.format(time)): volume is \(value); it must be finite and >= 0"
        case .invalidTickSize(let row, let time, let value):
            return "row \(row) at \(UTCTime.format(time)): tick size is \(value); it must be finite and > 0"
        case .divisionByZero(let rule, let position, let bar, let time):
            return "rule \"\(rule)\" at \(position): division by zero on bar \(bar) at \(UTCTime.format(time))"
        case .mixedData(let row, let expected):
            return "row \(row): this run processes \(expected); candles and ticks cannot be mixed"
        case .finished:
            return "the engine has finished; it takes no more data"
        }
    }
}
