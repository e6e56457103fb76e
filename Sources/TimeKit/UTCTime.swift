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
        var text =
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2))"
        if frac != 0 || microseconds { text += "." + pad(frac, 6) }
        return text + "Z"
    }

    /// A half-open range for messages: `[start, end)`.
    public static func range(_ start: Int64, _ end: Int64) -> String { "[\(format(start)), \(format(end)))" }

    /// Days in a month of the proleptic Gregorian calendar.
    public static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // MARK: Seconds and nanoseconds (protobuf's Timestamp)

    /// A broken-down UTC time.
    public struct Civil: Equatable, Sendable {
        public var year: Int64, month: Int64, day: Int64
        public var hour: Int64, minute: Int64, second: Int64
        public var nanos: Int32
    }

    public static func civil(seconds: Int64, nanos: Int32) -> Civil {
        let day = floorDiv(seconds, 86_400)
        let secs = seconds - day * 86_400
        let (y, m, d) = civil(day: day)
        return Civil(
            year: y, month: m, day: d, hour: secs / 3600, minute: secs / 60 % 60, second: secs % 60, nanos: nanos)
    }

    /// How many fractional digits a time is written with.
    public enum FractionDigits: Sendable {
        /// None, 3, 6 or 9: the fewest that hold it exactly (protobuf's JSON form).
        case shortest
        /// None, 6, or 9 below a microsecond.
        case micros
    }

    /// RFC 3339 in UTC, `1972-01-01T10:00:20.021Z`.
    public static func format(seconds: Int64, nanos: Int32, digits: FractionDigits = .shortest) -> String {
        let c = civil(seconds: seconds, nanos: nanos)
        var text = pad(c.year, 4) + "-" + pad(c.month, 2) + "-" + pad(c.day, 2) + "T"
        text += pad(c.hour, 2) + ":" + pad(c.minute, 2) + ":" + pad(c.second, 2)
        switch digits {
        case .shortest: text += fraction(nanos: nanos)
        case .micros where nanos != 0:
            text += "." + (nanos % 1000 == 0 ? String(pad(Int64(nanos), 9).prefix(6)) : pad(Int64(nanos), 9))
        case .micros: break
        }
        return text + "Z"
    }

    /// `.021`, `.000021`, `.000000021`, or "" for whole seconds: the fewest of 0, 3, 6
    /// or 9 digits that hold `nanos` (0 to 999,999,999) exactly.
    public static func fraction(nanos: Int32) -> String {
        guard nanos != 0 else { return "" }
        let all = pad(Int64(nanos), 9)
        if nanos % 1_000_000 == 0 { return "." + all.prefix(3) }
        if nanos % 1000 == 0 { return "." + all.prefix(6) }
        return "." + all
    }

    /// Parses a time as seconds and nanoseconds since the epoch. Strict (`lenient`
    /// false) is RFC 3339 as protobuf's JSON form has it:
    /// `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`. Lenient, for people typing at a
    /// shell, also takes a date alone, a space or `t` for `T`, no seconds, a comma
    /// for the point, more than 9 digits (cut), `±HHMM`, and no zone (UTC).
    public static func parse(_ text: String, lenient: Bool = false) -> (seconds: Int64, nanos: Int32)? {
        var p = Scanner(Array(text.utf8))
        guard let year = p.digits(4), p.take("-"), let month = p.digits(2), p.take("-"), let day = p.digits(2),
            (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month)
        else { return nil }
        var seconds = days(year: year, month: month, day: day) * 86_400
        var nanos: Int32 = 0
        let hasTime = p.take("T") || (lenient && (p.take("t") || p.take(" ")))
        guard hasTime || lenient else { return nil }
        if hasTime {
            guard let h = p.digits(2), p.take(":"), let m = p.digits(2), h < 24, m < 60 else { return nil }
            var s: Int64 = 0
            if p.take(":") {
                guard let sec = p.digits(2), sec < 60 else { return nil }
                s = sec
                if p.take(".") || (lenient && p.take(",")) {
                    var n: Int64 = 0, count = 0
                    while let d = p.digit() {
                        if count < 9 { n = n * 10 + d }
                        count += 1
                    }
                    guard count > 0, lenient || count <= 9 else { return nil }
                    for _ in min(count, 9)..<9 { n *= 10 }
                    nanos = Int32(n)
                }
            } else if !lenient {
                return nil
            }
            seconds += h * 3600 + m * 60 + s
            if p.take("Z") || (lenient && p.take("z")) {
            } else if let sign = p.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                p.index += 1
                guard let oh = p.digits(2) else { return nil }
                guard p.take(":") || lenient else { return nil }
                guard let om = p.digits(2), oh < 24, om < 60 else { return nil }
                let offset = oh * 3600 + om * 60
                seconds += sign == UInt8(ascii: "+") ? -offset : offset
            } else if !lenient {
                return nil
            }
        }
        guard p.atEnd else { return nil }
        return (seconds, nanos)
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }
        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
        mutating func take(_ c: Unicode.Scalar) -> Bool {
            guard peek() == UInt8(ascii: c) else { return false }
            index += 1
            return true
        }
        mutating func digit() -> Int64? {
            guard let b = peek(), b >= 48, b <= 57 else { return nil }
            index += 1
            return Int64(b - 48)
        }
        mutating func digits(_ n: Int) -> Int64? {
            var v: Int64 = 0
            for _ in 0..<n {
                guard let d = digit() else { return nil }
                v = v * 10 + d
            }
            return v
        }
    }
}
