import BacktestProto
import Foundation

/// Number and duration text for people (tables, the progress bar). Locale-free, so
/// output is the same on every machine. Undefined statistics (NaN) print as "-".
enum Format {
    static let undefined = "-"

    /// `12,345.68`: fixed decimals with thousands separators.
    static func number(_ x: Double, decimals: Int = 2, grouping: Bool = true) -> String {
        guard x.isFinite else { return x.isNaN ? undefined : (x > 0 ? "inf" : "-inf") }
        // A runaway compounding can reach 1e300: digits by the hundred help nobody.
        if abs(x) >= 1e15 { return String(format: "%.6g", x) }
        let text = String(format: "%.\(decimals)f", x)
        guard grouping else { return text }
        var sign = ""
        var body = Substring(text)
        if body.hasPrefix("-") {
            sign = "-"
            body = body.dropFirst()
        }
        let parts = body.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = Array(parts[0])
        var grouped = ""
        for (i, ch) in whole.enumerated() {
            if i > 0 && (whole.count - i) % 3 == 0 { grouped.append(",") }
            grouped.append(ch)
        }
        // "-0.00" is noise in a table.
        if sign == "-" && text.allSatisfy({ $0 == "-" || $0 == "0" || $0 == "." }) { sign = "" }
        return sign + grouped + (parts.count > 1 ? "." + parts[1] : "")
    }

    /// `+1,234.50` / `-12.00`: for P&L.
    static func signed(_ x: Double, decimals: Int = 2) -> String {
        let s = number(x, decimals: decimals)
        return x.isFinite && x > 0 && s.contains(where: { $0 != "0" && $0 != "." && $0 != "," }) ? "+" + s : s
    }

    /// `12.34%`.
    static func percent(_ x: Double, decimals: Int = 2) -> String {
        x.isNaN ? undefined : number(x, decimals: decimals, grouping: false) + "%"
    }

    /// `950`, `12.3k`, `4.5M`: rates and counts at a glance.
    static func compact(_ x: Double) -> String {
        guard x.isFinite else { return undefined }
        let a = abs(x)
        switch a {
        case ..<1000: return String(format: a < 10 && a != a.rounded() ? "%.1f" : "%.0f", x)
        case ..<1_000_000: return String(format: "%.1fk", x / 1000)
        case ..<1_000_000_000: return String(format: "%.1fM", x / 1_000_000)
        default: return String(format: "%.1fG", x / 1_000_000_000)
        }
    }

    /// A span for people: `0.25s`, `42s`, `3m 05s`, `2h 07m`, `12d 04h`.
    static func duration(seconds s: Double) -> String {
        guard s.isFinite else { return undefined }
        if s < 0 { return "-" + duration(seconds: -s) }
        if s < 10 && s != s.rounded() { return String(format: "%.2fs", s) }
        let t = Int64(s.rounded())
        switch t {
        case ..<60: return "\(t)s"
        case ..<3600: return "\(t / 60)m \(two(t % 60))s"
        case ..<86_400: return "\(t / 3600)h \(two(t / 60 % 60))m"
        default: return "\(t / 86_400)d \(two(t / 3600 % 24))h"
        }
    }

    static func duration(_ d: ProtoDuration?) -> String {
        guard let d, d.isValid else { return undefined }
        return duration(seconds: seconds(d))
    }

    /// The shortest text that reads back as `x` (`0.1`, `25`, `1e+21`), for CSV and
    /// parameters; NaN and the infinities are undefined.
    static func shortest(_ x: Double) -> String {
        x.isFinite ? JSONWriter.number(x) : undefined
    }

    /// A protobuf duration in seconds.
    static func seconds(_ d: ProtoDuration) -> Double {
        Double(d.seconds) + Double(d.nanos) / 1e9
    }

    /// `1.2 MiB`.
    static func bytes(_ n: Int64) -> String {
        let x = Double(n)
        switch n {
        case ..<1024: return "\(n) B"
        case ..<(1 << 20): return String(format: "%.1f KiB", x / 1024)
        case ..<(1 << 30): return String(format: "%.1f MiB", x / 1_048_576)
        default: return String(format: "%.2f GiB", x / 1_073_741_824)
        }
    }

    private static func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
