import BacktestProto

/// UTC calendar arithmetic for parsing and printing times, without Foundation's
/// formatters: the same text on every machine, whatever its locale or time zone.
enum UTCTime {
    /// A broken-down UTC time.
    struct Civil: Equatable {
        var year: Int64, month: Int, day: Int
        var hour = 0, minute = 0, second = 0
        var nanos = 0
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Hinnant's algorithm).
    static func days(year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day number since 1970-01-01.
    static func civil(days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func civil(_ ts: ProtoTimestamp) -> Civil {
        let (q, r) = ts.seconds.quotientAndRemainder(dividingBy: 86_400)
        let (days, secs) = r < 0 ? (q - 1, r + 86_400) : (q, r)
        let d = civil(days: days)
        return Civil(year: d.year, month: d.month, day: d.day,
                     hour: Int(secs / 3600), minute: Int(secs / 60 % 60), second: Int(secs % 60), nanos: Int(ts.nanos))
    }

    /// ISO 8601 in UTC: `2004-08-19T00:00:00Z`, with fractional seconds only when
    /// there are any (6 digits, or 9 below a microsecond).
    static func iso(_ ts: ProtoTimestamp) -> String {
        let c = civil(ts)
        var s = "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
        if c.nanos != 0 {
            s += c.nanos % 1000 == 0 ? "." + pad(c.nanos / 1000, 6) : "." + pad(c.nanos, 9)
        }
        return s + "Z"
    }

    /// `2004-08-19`.
    static func date(_ ts: ProtoTimestamp) -> String {
        let c = civil(ts)
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))"
    }

    /// `2004-08-19 09:30`: a fixed width, so a redrawn line does not jitter.
    static func minute(_ ts: ProtoTimestamp) -> String {
        let c = civil(ts)
        return "\(date(ts)) \(pad(c.hour, 2)):\(pad(c.minute, 2))"
    }

    /// `2004-08-19` at midnight, `2004-08-19 09:30:05` otherwise: for tables.
    static func compact(_ ts: ProtoTimestamp) -> String {
        let c = civil(ts)
        if c.hour == 0 && c.minute == 0 && c.second == 0 && c.nanos == 0 { return date(ts) }
        return "\(date(ts)) \(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2))"
    }

    /// Parses `2004-08-19`, `2004-08-19T09:30`, `2004-08-19T09:30:00`,
    /// `2004-08-19 09:30:00.5Z` or `...+02:00`. No zone means UTC.
    static func parse(_ text: String) -> ProtoTimestamp? {
        var p = Scanner(Array(text.utf8))
        guard let year = p.digits(4), p.take(UInt8(ascii: "-")), let month = p.digits(2), p.take(UInt8(ascii: "-")),
              let day = p.digits(2), (1...12).contains(month), (1...daysIn(month: month, year: Int64(year))).contains(day)
        else { return nil }
        var seconds = days(year: Int64(year), month: month, day: day) * 86_400
        var nanos: Int32 = 0
        if p.take(UInt8(ascii: "T")) || p.take(UInt8(ascii: "t")) || p.take(UInt8(ascii: " ")) {
            guard let h = p.digits(2), p.take(UInt8(ascii: ":")), let m = p.digits(2), h < 24, m < 60 else { return nil }
            var s = 0
            if p.take(UInt8(ascii: ":")) {
                guard let sec = p.digits(2), sec < 60 else { return nil }
                s = sec
                if p.take(UInt8(ascii: ".")) || p.take(UInt8(ascii: ",")) {
                    var n = 0, count = 0
                    while let d = p.digit() {
                        if count < 9 { n = n * 10 + d }
                        count += 1
                    }
                    guard count > 0 else { return nil }
                    for _ in min(count, 9)..<9 { n *= 10 }
                    nanos = Int32(n)
                }
            }
            seconds += Int64(h * 3600 + m * 60 + s)
            if p.take(UInt8(ascii: "Z")) || p.take(UInt8(ascii: "z")) {
            } else if let sign = p.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                p.index += 1
                guard let oh = p.digits(2) else { return nil }
                _ = p.take(UInt8(ascii: ":"))
                guard let om = p.digits(2), oh < 24, om < 60 else { return nil }
                let offset = Int64(oh * 3600 + om * 60)
                seconds += sign == UInt8(ascii: "+") ? -offset : offset
            }
        }
        guard p.atEnd else { return nil }
        return ProtoTimestamp(seconds: seconds, nanos: nanos)
    }

    static func daysIn(month: Int, year: Int64) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func pad<T: BinaryInteger>(_ n: T, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var atEnd: Bool { index == bytes.count }
        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
        mutating func take(_ b: UInt8) -> Bool {
            guard peek() == b else { return false }
            index += 1
            return true
        }
        mutating func digit() -> Int? {
            guard let b = peek(), b >= 48, b <= 57 else { return nil }
            index += 1
            return Int(b - 48)
        }
        mutating func digits(_ n: Int) -> Int? {
            var v = 0
            for _ in 0..<n {
                guard let d = digit() else { return nil }
                v = v * 10 + d
            }
            return v
        }
    }
}
