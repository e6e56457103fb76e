import BacktestEngine
import Foundation

@testable import BacktestStore

/// A store in a fresh temporary directory, removed afterwards.
func withTemporarySQLiteStore<T>(_ body: (SQLiteStore, String) async throws -> T) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("backtest.sqlite").path
    let store = try SQLiteStore(path: path)
    do {
        let result = try await body(store, path)
        await store.close()
        return result
    } catch {
        await store.close()
        throw error
    }
}

/// Every batch of a cursor, for checks on batch sizes.
func allBatches<Row>(_ cursor: any RowCursor<Row>) async throws -> [[Row]] {
    var batches: [[Row]] = []
    while let batch = try await cursor.next() { batches.append(batch) }
    return batches
}

func allRows<Row>(_ cursor: any RowCursor<Row>) async throws -> [Row] {
    try await allBatches(cursor).flatMap { $0 }
}

func sampleSession(
    id: String, createdAt: Int64, state: SessionState = .completed, symbol: String = "GOOG",
    labels: [String: String] = [:], clientRequestId: String = ""
) -> SessionRecord {
    var statistics = BacktestStatistics()
    statistics.start = 1_092_873_600_000_000
    statistics.end = 1_246_320_000_000_000
    statistics.equityFinal = 12_345.678
    statistics.returnPct = 23.4567
    statistics.sharpeRatio = .infinity
    statistics.sortinoRatio = -.infinity
    statistics.totalTrades = 0
    // winRatePct stays NaN: undefined without trades.
    return SessionRecord(
        id: id, state: state, symbol: symbol, timeframe: "1d",
        range: TimeRange(start: 1_092_873_600_000_000, end: 1_246_320_000_000_000),
        strategyName: "sma-cross", accelerationFactor: 0, request: [0, 1, 2, 255, 0, 10],
        clientRequestId: clientRequestId, labels: labels, progressPct: 42.5,
        simTime: state == .started ? nil : 1_200_000_000_000_000,
        eventsProcessed: 1234, finalPnl: -17.25, totalTrades: 3, winRatePct: .nan,
        statistics: state == .completed ? statistics : nil, createdAt: createdAt,
        startedAt: state == .started ? nil : createdAt + 5, completedAt: state.isTerminal ? createdAt + 99 : nil,
        errorMessage: state == .failed ? "boom" : "", stopReason: state == .stopped ? "user" : "")
}
