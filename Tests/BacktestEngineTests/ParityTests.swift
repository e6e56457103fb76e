import Foundation
import Testing
import TestSupport
@testable import BacktestEngine

/// backtesting.py 0.6.6 parity: the same trades and statistics (1e-6 relative) from the
/// same rules, on the shipped references and on fresh data and parameters.
@Suite struct ParityTests {
    static let shared = "/work/shared"

    static var referenceFiles: [String] {
        let dir = "\(shared)/data/reference"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
            .map { "\(dir)/\($0)" }
    }

    @Test(arguments: referenceFiles)
    func matchesReferenceOnGOOG(file: String) throws {
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
        let candles = try MarketCSV.load("\(Self.shared)/data/GOOG.csv")
        let (stats, trades) = try ReferenceComparison.run(candles: candles, config: reference["config"] as! [String: Any])
        let diffs = ReferenceComparison.differences(stats: stats, trades: trades, reference: reference)
        #expect(diffs.isEmpty, Comment(rawValue: "\(file):\n" + diffs.joined(separator: "\n")))
    }
}
