import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Schema version 1 -> 2: a version-1 file, written with version 1's DDL and row layout
/// (one row per trade, plain 40-byte-a-point equity chunks), opens with every trade and
/// equity point intact and in the new layout.
@Suite struct SQLiteMigrationTests {
    @Test func versionOneFileIsConverted() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-v1-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v1.sqlite").path

        // Version 1, as the old code path wrote it.
        let curve = SQLiteChunkTests.regularCurve(count: 5000)
        var oddCurve = Array(curve[0..<10])
        oddCurve[2].cash = -0.0
        oddCurve[3].drawdownPct = Double(bitPattern: 0x7ff8_0000_0000_0bad)
        do {
            let db = try SQLiteConnection(path: path)
            try db.execute(SQLiteSchema.connectionPragmas)
            try db.execute(SQLiteSchema.version1)
            try db.execute("PRAGMA user_version = 1")
            try db.execute(
                """
                INSERT INTO backtest_trades VALUES ('s1', 2, 'short', 5.0, 2000, NULL, 10.5, NULL, -1.25, -0.5, 0.01, 'S1', '', 7, NULL);
                INSERT INTO backtest_trades VALUES ('s1', 1, 'long', 10.0, 1000, 1500, 100.0, 101.0, 10.0, 1.0, 0.1, 'rule ''q''', 'ZE1', 3, 5);
                INSERT INTO backtest_trades VALUES ('s2', 1, 'long', 1.0, 1, 2, 1.0, 2.0, 1.0, 100.0, 0.0, 'a', 'b', 0, 1);
                """)
            for i in 0..<1100 {
                try db.execute(
                    "INSERT INTO backtest_trades VALUES ('many', \(i + 1), 'long', 1.0, \(i), \(i + 1), 1.0, 2.0, \(i).5, 1.0, 0.0, 'S', 'E', \(i), \(i + 1))"
                )
            }
            let insert = try db.prepare(
                "INSERT INTO backtest_equity_curve (session_id, chunk_no, first_time, last_time, count, data) VALUES (?, ?, ?, ?, ?, ?)"
            )
            var chunkNo: Int64 = 0
            for (session, points, size) in [("e1", curve, 4096), ("e2", oddCurve, 4)] {
                for start in stride(from: 0, to: points.count, by: size) {
                    let slice = points[start..<min(start + size, points.count)]
                    insert.reset()
                    insert.bind(1, session)
                    insert.bind(2, chunkNo)
                    insert.bind(3, slice.first!.time)
                    insert.bind(4, slice.last!.time)
                    insert.bind(5, slice.count)
                    insert.bind(6, blob: ColumnChunk.encode(slice))
                    try insert.run()
                    chunkNo += 1
                }
            }
            db.close()
        }

        let store = try SQLiteStore(path: path)
        let trades = try await allRows(try await store.trades(sessionId: "s1", batchSize: 10))
        #expect(trades.map(\.number) == [1, 2])
        #expect(
            trades[0]
                == TradeRecord(
                    number: 1, side: .long, quantity: 10, entryTime: 1000, exitTime: 1500, entryPrice: 100,
                    exitPrice: 101, pnl: 10, returnPct: 1, commission: 0.1, entryRule: "rule 'q'",
                    exitRule: "ZE1", entryIndex: 3, exitIndex: 5))
        #expect(
            trades[1].side == .short && trades[1].exitTime == nil && trades[1].exitIndex == nil
                && trades[1].exitPrice.isNaN)
        #expect(trades[1].pnl == -1.25 && trades[1].entryRule == "S1" && trades[1].exitRule == "")
        let many = try await allBatches(try await store.trades(sessionId: "many", batchSize: 1000))
        #expect(many.map(\.count) == [1000, 100])
        #expect(many.flatMap { $0 }.map(\.number) == Array(1...1100))
        #expect(try await allRows(try await store.trades(sessionId: "s2", batchSize: 10)).count == 1)

        let everything = TimeRange(start: .min, end: .max)
        #expect(
            SQLiteChunkTests.bitsEqual(
                try await allRows(try await store.equity(sessionId: "e1", range: everything, batchSize: 777)), curve))
        #expect(
            SQLiteChunkTests.bitsEqual(
                try await allRows(try await store.equity(sessionId: "e2", range: everything, batchSize: 3)), oddCurve))
        // Converted: smaller blobs of format 2, no per-row trade table.
        #expect(try await store.equityBytes(sessionId: "e1") < 5000 * 12)
        let layout = try await store.writer.run { db throws(StoreError) -> (Int64, Int64, Int64) in
            let v = try db.prepare("PRAGMA user_version")
            _ = try v.step()
            let version = v.int64(0)
            let t = try db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'backtest_trades'")
            _ = try t.step()
            let f = try db.prepare("SELECT count(*) FROM backtest_equity_curve WHERE substr(data, 1, 1) <> x'02'")
            _ = try f.step()
            return (version, t.int64(0), f.int64(0))
        }
        #expect(layout == (SQLiteSchema.version, 0, 0))
        // Appends after the migration continue the curve and the trade numbers.
        try await store.appendTrades(sessionId: "s1", [SQLiteResultsTests.trade(3)])
        #expect(try await allRows(try await store.trades(sessionId: "s1", batchSize: 10)).map(\.number) == [1, 2, 3])
        await store.close()

        // Reopening a file of this version migrates nothing.
        let again = try SQLiteStore(path: path)
        #expect(try await allRows(try await again.trades(sessionId: "many", batchSize: 5000)).count == 1100)
        await again.close()
    }

    /// Schema version 3 -> 4: a file with sweeps opens with every sweep and row intact,
    /// no stitched result on them, and takes walk-forward windows.
    @Test func versionThreeFileGainsWalkForwards() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("store-v3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v3.sqlite").path
        var half = BacktestStatistics()
        half.sharpeRatio = 0.5
        var more = half
        more.sharpeRatio = 0.75
        let (a, b) = (try SessionJSON.encode(half), try SessionJSON.encode(more))
        do {
            let db = try SQLiteConnection(path: path)
            try db.execute(SQLiteSchema.connectionPragmas)
            for step in 0..<3 { try SQLiteSchema.migrate(db, step: step) }
            try db.execute("PRAGMA user_version = 3")
            // Version 3's columns, as its code wrote them.
            try db.execute(
                """
                INSERT INTO backtest_sweeps VALUES ('s3', 'completed', 'GOOG', '1d', 0, 100, 'sma_cross', x'010203', \
                'sharpe_ratio', 1, 2, 2, 0, 5, 1, 0.75, 10, 11, 12, '', '');
                INSERT INTO backtest_sweep_results VALUES ('s3', 0, 'n1=5.0', '\(a)', '', '');
                INSERT INTO backtest_sweep_results VALUES ('s3', 1, 'n1=6.0', '\(b)', '', 'sess');
                """)
            db.close()
        }
        let store = try SQLiteStore(path: path)
        let record = try #require(try await store.sweep(id: "s3"))
        #expect(
            record
                == SweepRecord(
                    id: "s3", state: .completed, symbol: "GOOG", timeframe: "1d", range: TimeRange(start: 0, end: 100),
                    strategyName: "sma_cross", request: [1, 2, 3], objective: "sharpe_ratio", maximize: true, total: 2,
                    done: 2, failed: 0, topK: 5, bestCombination: 1, bestValue: 0.75, createdAt: 10, startedAt: 11,
                    completedAt: 12))
        let rows = try await store.sweepResults(
            SweepResultQuery(sweepId: "s3", sortKey: "sharpeRatio", descending: true)
        ).rows
        #expect(rows.map(\.combination) == [1, 0] && rows[0].sessionId == "sess")
        #expect(rows[0].statistics?.sharpeRatio == 0.75 && rows[1].params == [SweepParam(name: "n1", value: 5)])
        let window = WalkForwardWindowRow(
            index: 0, inSample: TimeRange(start: 0, end: 75), outOfSample: TimeRange(start: 75, end: 100))
        try await store.saveWalkForwardWindow(sweepId: "s3", window)
        #expect(try await store.walkForwardWindows(sweepId: "s3") == [window])
        let version = try await store.writer.run { db throws(StoreError) -> Int64 in
            let v = try db.prepare("PRAGMA user_version")
            _ = try v.step()
            return v.int64(0)
        }
        #expect(version == 4 && SQLiteSchema.version == 4)
        await store.close()
    }
}
