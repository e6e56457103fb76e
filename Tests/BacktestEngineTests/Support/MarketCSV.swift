import Foundation
import TimeKit

@testable import BacktestEngine

/// Reads OHLCV CSV files as pandas writes them (first column a date or date-time).
enum MarketCSV {
    static func load(_ path: String) throws -> [Candle] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var out: [Candle] = []
        for (i, line) in text.split(separator: "\n").enumerated() where i > 0 && !line.isEmpty {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            out.append(
                Candle(
                    time: try time(String(f[0])), open: Double(f[1])!, high: Double(f[2])!, low: Double(f[3])!,
                    close: Double(f[4])!, volume: Double(f[5])!))
        }
        return out
    }

    struct BadTime: Error { var text: String }

    /// "2004-08-19" or "2020-01-01 00:01:00" (UTC) in microseconds.
    static func time(_ s: String) throws -> Int64 {
        let parts = s.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" || $0 == "T" }).map { Int64($0) }
        guard parts.count >= 3, let y = parts[0], let m = parts[1], let d = parts[2] else { throw BadTime(text: s) }
        var seconds = UTCTime.days(year: y, month: m, day: d) * 86_400
        if parts.count >= 6, let h = parts[3], let mi = parts[4], let se = parts[5] {
            seconds += h * 3600 + mi * 60 + se
        }
        return seconds * 1_000_000
    }

    /// pandas' str(Timestamp): "2004-08-19 00:00:00".
    static func pandasString(_ t: Int64) -> String {
        String(UTCTime.format(t).dropLast().replacingOccurrences(of: "T", with: " "))
    }

    /// pandas' str(Timedelta) for whole seconds: "3116 days 00:00:00".
    static func pandasDuration(_ micros: Int64) -> String {
        let s = micros / 1_000_000
        func pad(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(s / 86_400) days \(pad(s % 86_400 / 3600)):\(pad(s % 3600 / 60)):\(pad(s % 60))"
    }
}
