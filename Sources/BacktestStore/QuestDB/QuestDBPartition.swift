import TimeKit

/// One partition of a QuestDB table: its time span [start, end) and its name, the one
/// `ALTER TABLE ... DROP PARTITION LIST` takes (`2024-05-17` by day, `2024-05` by month).
struct QuestDBPartition: Equatable, Sendable, CustomStringConvertible {
    enum Unit: Sendable {
        case day, month
    }

    let unit: Unit
    let start: Int64
    let end: Int64

    /// The partition holding `time` (microseconds since the epoch, not negative).
    init(_ unit: Unit, containing time: Int64) {
        self.unit = unit
        let day = UTCTime.day(of: time)
        switch unit {
        case .day:
            start = day * UTCTime.microsPerDay
            end = start + UTCTime.microsPerDay
        case .month:
            let c = UTCTime.civil(day: day)
            start = UTCTime.days(year: c.year, month: c.month, day: 1) * UTCTime.microsPerDay
            end = start + UTCTime.daysInMonth(year: c.year, month: c.month) * UTCTime.microsPerDay
        }
    }

    /// Digits and dashes only, made here from a number: safe to splice into SQL.
    var name: String { String(UTCTime.format(start).prefix(unit == .day ? 10 : 7)) }

    var description: String { name }
}
