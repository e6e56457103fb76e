import BacktestProto
import TimeKit

/// Times as the CLI shows and reads them, on TimeKit's calendar: the same text on
/// every machine, whatever its locale or time zone.
enum TimeDisplay {
    /// ISO 8601 in UTC: `2004-08-19T00:00:00Z`, with fractional seconds only when
    /// there are any (6 digits, or 9 below a microsecond).
    static func iso(_ ts: ProtoTimestamp) -> String {
        UTCTime.format(seconds: ts.seconds, nanos: ts.nanos, digits: .micros)
    }

    /// `2004-08-19 09:30`: a fixed width, so a redrawn line does not jitter.
    static func minute(_ ts: ProtoTimestamp) -> String {
        let c = UTCTime.civil(seconds: ts.seconds, nanos: ts.nanos)
        return "\(date(c)) \(pad(c.hour)):\(pad(c.minute))"
    }

    /// `2004-08-19` at midnight, `2004-08-19 09:30:05` otherwise: for tables.
    static func compact(_ ts: ProtoTimestamp) -> String {
        let c = UTCTime.civil(seconds: ts.seconds, nanos: ts.nanos)
        if c.hour == 0 && c.minute == 0 && c.second == 0 && c.nanos == 0 { return date(c) }
        return "\(date(c)) \(pad(c.hour)):\(pad(c.minute)):\(pad(c.second))"
    }

    /// Parses `2004-08-19`, `2004-08-19T09:30`, `2004-08-19T09:30:00`,
    /// `2004-08-19 09:30:00.5Z` or `...+02:00`. No zone means UTC.
    static func parse(_ text: String) -> ProtoTimestamp? {
        UTCTime.parse(text, lenient: true).map { ProtoTimestamp(seconds: $0.seconds, nanos: $0.nanos) }
    }

    private static func date(_ c: UTCTime.Civil) -> String {
        "\(pad(c.year, 4))-\(pad(c.month))-\(pad(c.day))"
    }

    private static func pad(_ n: Int64, _ width: Int = 2) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
