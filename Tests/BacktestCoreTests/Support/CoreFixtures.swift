import BacktestCore
import BacktestEngine
import BacktestStore
import Foundation
import TestSupport

/// A registry on a real SQLite store in a temporary directory, with the GOOG sample
/// imported through the one import path; and the requests the tests share.
struct CoreFixture {
    let directory: URL
    let store: SQLiteStore
    let registry: EngineRegistry

    init(
        clock: any ServiceClock, limits: EngineRegistry.Limits = .init(maxRunning: 4, maxQueued: 16),
        store wrap: (SQLiteStore) -> any BacktestStore = { $0 }
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("core-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try SQLiteStore(path: directory.appendingPathComponent("store.db").path)
        _ = try await MarketDataImporter.importCSVFile(
            path: Self.googCSV, store: store, symbol: "GOOG", timeframe: "1d")
        registry = EngineRegistry(store: wrap(store), limits: limits, clock: clock)
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    static var googCSV: String { Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv").path }

    /// 2004-08-19 .. 2013-03-02: the whole sample, 3117 simulated days.
    static let googStart: Int64 = 1_092_873_600_000_000
    static let googEnd: Int64 = 1_362_182_400_000_000

    /// SMA 10/20 crossover over the whole GOOG sample (the parity configuration), taking
    /// `seconds` of the clock's time when paced (0 = as fast as possible).
    static func goog(
        seconds: Double = 0, capital: Double = 10_000, clientRequestId: String = "",
        labels: [String: String] = [:],
        strategy: StrategyDefinition = .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20]),
        encoded: [UInt8]? = nil
    ) -> RunRequest {
        let factor = seconds > 0 ? 3117 * 86_400 / seconds : 0
        return RunRequest(
            symbol: "GOOG", timeframe: .candles(seconds: 86_400), start: googStart, end: googEnd,
            config: BacktestConfig(initialCapital: capital, strategy: strategy),
            accelerationFactor: factor, clientRequestId: clientRequestId, labels: labels,
            encoded: encoded ?? Array("goog \(capital) \(seconds)".utf8))
    }
}

extension EngineRegistry {
    /// Every event of one watch, in order.
    func events(_ id: String, minInterval: Duration = .milliseconds(1)) async throws -> [RunProgress] {
        var events: [RunProgress] = []
        try await watch(id, minInterval: minInterval) { events.append($0) }
        return events
    }

    /// Waits (on the registry, not a clock) until the session is in one of `states`.
    func waitFor(_ id: String, _ states: Set<SessionState>) async throws -> SessionRecord {
        while true {
            if let r = try await record(id), states.contains(r.state) { return r }
            await Task.yield()
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
