import Foundation

/// Market data made up for the tests: deterministic, any length.
enum Fixtures {
    /// One-minute candles from `start` (epoch seconds), `time,open,high,low,close,volume`:
    /// a wave with a trend, so crossover strategies trade.
    static func minuteBarsCSV(count: Int, start: Int = 1_704_067_200) -> String {
        var lines = ["time,open,high,low,close,volume"]
        var close = 100.0
        for i in 0..<count {
            let open = close
            close = 100 + 10 * sin(Double(i) / 15) + Double(i) * 0.01
            let high = max(open, close) + 0.25, low = min(open, close) - 0.25
            let volume = 1000 + (i * 37) % 500
            lines.append("\(start + 60 * i),\(open),\(high),\(low),\(close),\(volume)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes text to a fresh temporary file and returns its path.
    static func writeTemporary(_ text: String, name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try! text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
