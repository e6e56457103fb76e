import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// Deleting sessions from the SQLite store: every row of them goes in one transaction,
/// other sessions keep theirs, and the file gives the pages back.
@Suite struct SQLiteDeletionTests {
    static func trades(_ count: Int) -> [TradeRecord] {
        (1...count).map { n in
            TradeRecord(
                number: n, side: .long, quantity: 1, entryTime: Int64(n) * 1_000_000,
                exitTime: Int64(n) * 1_000_000 + 500, entryPrice: 100, exitPrice: 101, pnl: 1, returnPct: 1,
                commission: 0, entryRule: "S1", exitRule: "ZE1", entryIndex: n, exitIndex: n + 1)
        }
    }

    /// Noisy equity, so chunks do not compress to nothing: a few MiB per session.
    static func points(_ count: Int, seed: Int) -> [EquitySample] {
        var x = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { k in
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let noise = Double(x >> 11) / Double(1 << 53)
            return EquitySample(
                time: Int64(k) * 60_000_000, equity: 10_000 + noise * 1000, cash: noise * 500,
                positionSize: noise, drawdownPct: -noise)
        }
    }

    static func scalar(_ store: SQLiteStore, _ sql: String) async throws -> Int64 {
        try await store.reader().run { db throws(StoreError) in
            let s = try db.prepare(sql)
            _ = try s.step()
            let value = s.int64(0)
            s.reset()
            return value
        }
    }

    @Test func newDatabasesVacuumIncrementally() async throws {
        try await withTemporarySQLiteStore { store, _ in
            let mode = try await Self.scalar(store, "PRAGMA auto_vacuum")
            #expect(store.incrementalVacuum)
            #expect(mode == 2)
        }
    }

    @Test func deletesEveryRowOfTheSessionsAndNothingElse() async throws {
        try await withTemporarySQLiteStore { store, _ in
            for (i, id) in ["gone", "kept", "also-gone"].enumerated() {
                try await store.saveSession(
                    sampleSession(id: id, createdAt: Int64(i), labels: ["team": "quant", "id": id]))
                try await store.appendTrades(sessionId: id, Self.trades(3000))
                try await store.appendEquity(sessionId: id, Self.points(20_000, seed: i))
            }
            let deleted = try await store.deleteSessions(ids: ["gone", "also-gone", "never-was"])
            #expect(deleted == ["gone", "also-gone"])

            for id in ["gone", "also-gone"] {
                #expect(try await store.session(id: id) == nil)
                #expect(try await allRows(try await store.trades(sessionId: id, batchSize: 1000)).isEmpty)
                let all = TimeRange(start: .min, end: .max)
                #expect(try await allRows(try await store.equity(sessionId: id, range: all, batchSize: 1000)).isEmpty)
            }
            for table in ["backtest_session_labels", "backtest_trade_chunks", "backtest_equity_curve"] {
                #expect(
                    try await Self.scalar(
                        store, "SELECT count(*) FROM \(table) WHERE session_id IN ('gone', 'also-gone')") == 0,
                    "\(table)")
            }
            var byLabel = SessionQuery()
            byLabel.labels = ["team": "quant"]
            #expect(try await store.listSessions(byLabel).sessions.map(\.id) == ["kept"])

            // The other session is whole.
            #expect(try await store.session(id: "kept")?.labels == ["team": "quant", "id": "kept"])
            #expect(try await allRows(try await store.trades(sessionId: "kept", batchSize: 1000)) == Self.trades(3000))
            let kept = try await allRows(
                try await store.equity(sessionId: "kept", range: TimeRange(start: .min, end: .max), batchSize: 5000))
            #expect(kept == Self.points(20_000, seed: 1))

            // A second delete finds nothing.
            #expect(try await store.deleteSessions(ids: ["gone"]).isEmpty)
        }
    }

    @Test func theFileGivesTheSpaceBack() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("delete-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("backtest.sqlite").path
        let ids = (0..<6).map { "s\($0)" }
        var store = try SQLiteStore(path: path)
        for (i, id) in ids.enumerated() {
            try await store.saveSession(sampleSession(id: id, createdAt: Int64(i)))
            try await store.appendTrades(sessionId: id, Self.trades(2000))
            try await store.appendEquity(sessionId: id, Self.points(100_000, seed: i))
        }
        let pagesBefore = try await Self.scalar(store, "PRAGMA page_count")
        await store.close()  // a TRUNCATE checkpoint: the file is the database
        let sizeBefore = SQLiteWALTests.fileSize(path)

        store = try SQLiteStore(path: path)
        #expect(try await store.deleteSessions(ids: Array(ids.dropFirst())).count == 5)
        #expect(try await Self.scalar(store, "PRAGMA freelist_count") == 0)
        let pagesAfter = try await Self.scalar(store, "PRAGMA page_count")
        #expect(pagesAfter * 3 < pagesBefore, "pages \(pagesBefore) -> \(pagesAfter)")
        #expect(try await store.session(id: "s0") != nil)
        await store.close()
        let sizeAfter = SQLiteWALTests.fileSize(path)
        #expect(sizeAfter * 3 < sizeBefore, "bytes \(sizeBefore) -> \(sizeAfter)")
        #expect(SQLiteWALTests.fileSize(path + "-wal") == 0)
    }

    /// A database made before auto_vacuum (version 2 without it) keeps its free pages
    /// for reuse: deleting works, the file does not shrink, and nothing loops.
    @Test func olderDatabasesKeepFreePagesForReuse() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("delete-old-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("backtest.sqlite").path
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        // The schema as an older build made it: tables first, no auto_vacuum.
        let old = try SQLiteConnection(path: path)
        try old.execute("PRAGMA page_size = 65536; PRAGMA journal_mode = WAL;")
        try SQLiteSchema.migrate(old)
        old.close()

        let store = try SQLiteStore(path: path)
        #expect(!store.incrementalVacuum)
        try await store.saveSession(sampleSession(id: "a", createdAt: 1))
        try await store.appendEquity(sessionId: "a", Self.points(50_000, seed: 1))
        #expect(try await store.deleteSessions(ids: ["a"]) == ["a"])
        #expect(try await Self.scalar(store, "PRAGMA freelist_count") > 0)
        #expect(try await store.session(id: "a") == nil)
        await store.close()
    }
}
