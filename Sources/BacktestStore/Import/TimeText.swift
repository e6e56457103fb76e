import BacktestEngine

/// Microsecond timestamps as ISO 8601 UTC text for messages, and the calendar
/// arithmetic the parsers need: the engine's `UTCTime`, under the store's names.
public enum TimeText {
    public static func iso(_ micros: Int64) -> String { UTCTime.format(micros) }

    /// Days since 1970-01-01 for a proleptic Gregorian date.
    public static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        UTCTime.days(year: year, month: month, day: day)
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let c = UTCTime.civil(day: days)
        return (c.year, c.month, c.day)
    }
}
