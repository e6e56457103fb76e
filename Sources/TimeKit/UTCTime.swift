/// The one home of calendar arithmetic on microsecond UTC timestamps (proleptic
/// Gregorian calendar), without Foundation: the same text on every machine whatever
/// its locale or time zone. The engine bins equity by day, week, month and year; the
/// store parses CSV times; everyone prints times in messages.
public enum UTCTime {
    public static let microsPerSecond: Int64 = 1_000_000
    public static let microsPerDay: Int64 = 86_400_000_000

    /// Floor division (rounds toward minus infinity), for times before 1970.
    @inline(__always)
    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q
    }

    /// Days since 1970-01-01 of a time.
    @inline(__always)
    public static func day(of time: Int64) -> Int64 { floorDiv(time, microsPerDay) }

    /// Year, month (1-12) and day (1-31) of a day number (H. Hinnant's civil_from_days).
    public static func civil(day z0: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// Day number of a civil date (H. Hinnant's days_from_civil).
    public static func days(year y0: Int64, month m: Int64, day d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Day of the week, Monday = 0 ... Sunday = 6 (1970-01-01 was a Thursday).
    public static func weekday(day: Int64) -> Int64 {
        let w = (day + 3) % 7
        return w < 0 ? w + 7 : w
    }

    /// ISO 8601, e.g. "2004-08-19T00:00:00Z": fractional seconds only when present,
    /// or always six digits with `microseconds` (what PostgreSQL and QuestDB parse).
    public static func format(_ time: Int64, microseconds: Bool = false) -> String {
        let day = floorDiv(time, microsPerDay)
        let rest = time - day * microsPerDay
        let (y, m, d) = civil(day: day)
        let secs = rest / microsPerSecond
        let frac = rest % microsPerSecond
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        var text = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
        if frac != 0 || microseconds { text += "." + pad(frac, 6) }
        return text + "Z"
    }

    /// A half-open range for messages: `[start, end)`.
    public static func range(_ start: Int64, _ end: Int64) -> String { "[\(format(start)), \(format(end)))" }
}
