import Foundation
import TestSupport

/// Requests and data the end-to-end tests share.
enum Fixtures {
    static var googCSV: String { Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv").path }

    static var googHeader: [String: Any] {
        [
            "symbol": "GOOG", "kind": "DATA_KIND_CANDLES", "timeframe": "1d", "format": "IMPORT_FORMAT_CSV",
            "source_name": "GOOG.csv",
        ]
    }

    /// SMA 10/20 crossover over the whole GOOG sample (the parity configuration).
    static func googRequest(
        strategy: [String: Any] = ["builtin": ["name": "sma_cross", "params": ["n1": 10, "n2": 20]]],
        acceleration: Double = 0, extra: [String: Any] = [:]
    ) -> [String: Any] {
        var r: [String: Any] = [
            "symbol": "GOOG", "timeframe": "1d",
            "start_time": "2004-08-19T00:00:00Z", "end_time": "2013-03-02T00:00:00Z",
            "initial_capital": 10000, "strategy": strategy, "acceleration_factor": acceleration,
        ]
        for (k, v) in extra { r[k] = v }
        return r
    }

    /// A session over GOOG that takes about `seconds` of wall time (paced).
    static func slowGoogRequest(seconds: Double, extra: [String: Any] = [:]) -> [String: Any] {
        // 2004-08-19 .. 2013-03-02 is 3117 simulated days.
        googRequest(acceleration: 3117 * 86_400 / seconds, extra: extra)
    }

    /// `count` one-minute bars from `start` (epoch seconds) as a CSV with epoch times.
    static func minuteBarsCSV(count: Int, start: Int, seed: UInt64 = 7) throws -> String {
        var text = "time,open,high,low,close,volume\n"
        var rng = seed
        var price = 100.0
        for i in 0..<count {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            let step = (Double(rng >> 11) / Double(1 << 53) - 0.5) * 0.4
            let open = price
            let close = max(1, price + step)
            let high = max(open, close) + 0.05
            let low = min(open, close) - 0.05
            text += "\(start + i * 60),\(open),\(high),\(low),\(close),\(1000 + i % 500)\n"
            price = close
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bars-\(UUID().uuidString).csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}
