import BacktestStore
import Foundation
import TestSupport

/// What nodes in this process share: a real redis-server and a real SQLite store in a
/// directory of its own, GOOG's daily candles imported when asked.
struct BrokerFixture {
    let redis: RedisServer
    let directory: URL
    let store: SQLiteStore

    init(withGOOG: Bool = false) async throws {
        redis = try await RedisServer()
        directory = try DaemonProcess.temporaryDirectory()
        store = try SQLiteStore(path: directory.appendingPathComponent("store.db").path)
        if withGOOG {
            _ = try await MarketDataImporter.importCSVFile(
                path: Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv").path, store: store,
                symbol: "GOOG", timeframe: "1d")
        }
    }

    func remove() {
        redis.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}
