import BacktestEngine
import Foundation

/// The GOOG sample parsed independently of the store, for running the engine directly.
enum GoogData {
    static func candles() throws -> [Candle] {
        let text = try String(contentsOfFile: Fixtures.googCSV, encoding: .utf8)
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withFullDate]
        format.timeZone = TimeZone(identifier: "UTC")
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == 6, let date = format.date(from: String(f[0])) else { return nil }
            return Candle(
                time: Int64(date.timeIntervalSince1970) * 1_000_000, open: Double(f[1])!, high: Double(f[2])!,
                low: Double(f[3])!, close: Double(f[4])!, volume: Double(f[5])!)
        }
    }
}
