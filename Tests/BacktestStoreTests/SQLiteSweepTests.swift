import BacktestEngine
import Foundation
import TestSupport
import Testing

@testable import BacktestStore

/// Sweeps in SQLite: records round-trip, results page sorted by any statistic with
/// NaN and failed rows last, tokens belong to their listing.
@Suite struct SQLiteSweepTests {
    static func record(_ id: String, createdAt: Int64, state: SessionState = .completed) -> SweepRecord {
        SweepRecord(
            id: id, state: state, symbol: "GOOG", timeframe: "1d", range: TimeRange(start: 0, end: 100),
            strategyName: "sma_cross", request: [1, 2, 3], objective: "sharpe_ratio", maximize: true, total: 5,
            done: 5, failed: 1, topK: 2, bestCombination: 3, bestValue: 1.25, createdAt: createdAt, startedAt: 7,
            completedAt: 9, stopReason: "")
    }

    static func row(_ n: Int64, sharpe: Double?, trades: Int = 0) -> SweepResultRow {
        var s = BacktestStatistics()
        s.sharpeRatio = sharpe ?? .nan
        s.totalTrades = trades
        s.equityFinal = 10_000 + 0.1 * Double(n)
        return SweepResultRow(
            combination: n,
            params: [SweepParam(name: "n1", value: 0.1 * Double(n)), SweepParam(name: "n2", value: 20)],
            statistics: sharpe == nil && trades < 0 ? nil : s, error: trades < 0 ? "engine: boom" : "")
    }

    /// 40 rows of random statistics (NaN, both infinities, ties) and failed rows,
    /// sorted by several statistics both ways, a page of 7 at a time, against the
    /// reference ranking: values first in the direction asked, infinities as values, no
    /// value last, ties by combination. Both stores pass the same check.
    static func checkSorting(_ store: any BacktestStore, sweepId id: String, seed: UInt64) async throws {
        var generator = SeededGenerator(seed: seed)
        let doubles: [Double] = [-2.5, 0, 0.75, 1.5, .nan, .infinity, -.infinity]
        let day: Int64 = 86_400_000_000
        let rows = (0..<40).map { n -> SweepResultRow in
            guard n % 9 != 4 else {
                return SweepResultRow(
                    combination: Int64(n), params: [SweepParam(name: "n1", value: Double(n))], statistics: nil,
                    error: "engine: boom")
            }
            var s = BacktestStatistics()
            s.sharpeRatio = doubles.randomElement(using: &generator)!
            s.returnPct = doubles.randomElement(using: &generator)!
            s.profitFactor = doubles.randomElement(using: &generator)!
            s.totalTrades = Int.random(in: 0...3, using: &generator)
            s.maxDrawdownDurationMicros = Int64.random(in: 0...2, using: &generator) * day
            s.commissions = Double(Int.random(in: 0...2, using: &generator))
            return SweepResultRow(
                combination: Int64(n), params: [SweepParam(name: "n1", value: Double(n))], statistics: s,
                sessionId: n == 7 ? "session-7" : "")
        }
        try await store.saveSweepResults(sweepId: id, Array(rows[20...]))
        try await store.saveSweepResults(sweepId: id, Array(rows[..<20]))
        try await store.sync()
        let values: [String: @Sendable (BacktestStatistics) -> Double] = [
            "sharpeRatio": { $0.sharpeRatio }, "returnPct": { $0.returnPct }, "profitFactor": { $0.profitFactor },
            "totalTrades": { Double($0.totalTrades) },
            "maxDrawdownDurationMicros": { Double($0.maxDrawdownDurationMicros) },
            "commissions": { $0.commissions },
        ]
        for (key, value) in values {
            for descending in [true, false] {
                let expected = rows.sorted { a, b in
                    let x = a.statistics.map(value) ?? .nan
                    let y = b.statistics.map(value) ?? .nan
                    switch (x.isNaN, y.isNaN) {
                    case (false, true): return true
                    case (true, false): return false
                    case (false, false) where x != y: return descending ? x > y : x < y
                    default: return a.combination < b.combination
                    }
                }
                var got: [SweepResultRow] = []
                var token = ""
                repeat {
                    let page = try await store.sweepResults(
                        SweepResultQuery(
                            sweepId: id, sortKey: key, descending: descending, pageSize: 7, pageToken: token))
                    #expect(page.rows.count <= 7)
                    got += page.rows
                    token = page.nextPageToken
                } while !token.isEmpty
                #expect(got.map(\.combination) == expected.map(\.combination), "\(key) \(descending)")
                #expect(got.sorted { $0.combination < $1.combination } == rows, "every row round-trips")
            }
        }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func anyStatisticSortsBothWaysWithNoValueLast(seed: UInt64) async throws {
        try await withTemporarySQLiteStore { store, _ in
            try await store.saveSweep(Self.record("sort", createdAt: 10))
            try await Self.checkSorting(store, sweepId: "sort", seed: seed)
        }
    }

    @Test func recordsAndResultsRoundTripAndSort() async throws {
        try await withTemporarySQLiteStore { store, _ in
            let r = Self.record("s1", createdAt: 10)
            try await store.saveSweep(r)
            #expect(try await store.sweep(id: "s1") == r)
            #expect(try await store.sweep(id: "nope") == nil)
            let rows = [
                Self.row(0, sharpe: 0.5, trades: 3), Self.row(1, sharpe: nil, trades: 1),
                Self.row(2, sharpe: 1.5, trades: 2),
                Self.row(3, sharpe: nil, trades: -1), Self.row(4, sharpe: 0.5, trades: 9),
            ]
            try await store.saveSweepResults(sweepId: "s1", rows.reversed())
            // A retried write replaces.
            try await store.saveSweepResults(sweepId: "s1", [rows[0]])
            func page(_ key: String, _ descending: Bool, size: Int = 2) async throws -> [SweepResultRow] {
                var out: [SweepResultRow] = []
                var token = ""
                repeat {
                    let p = try await store.sweepResults(
                        SweepResultQuery(
                            sweepId: "s1", sortKey: key, descending: descending, pageSize: size, pageToken: token))
                    out += p.rows
                    token = p.nextPageToken
                } while !token.isEmpty
                return out
            }
            #expect(try await page("sharpeRatio", true).map(\.combination) == [2, 0, 4, 1, 3])
            let ascending = try await page("sharpeRatio", false).map(\.combination)
            #expect(ascending == [0, 4, 2, 1, 3])
            #expect(try await page("totalTrades", true, size: 10).map(\.combination) == [4, 0, 2, 1, 3])
            let all = try await page("sharpeRatio", true, size: 1000)
            #expect(all.first { $0.combination == 1 } == rows[1], "params and NaN round-trip exactly")
            #expect(all.last?.error == "engine: boom" && all.last?.statistics == nil)

            let first = try await store.sweepResults(
                SweepResultQuery(sweepId: "s1", sortKey: "sharpeRatio", descending: true, pageSize: 2))
            await #expect(throws: StoreError.self) {
                _ = try await store.sweepResults(
                    SweepResultQuery(
                        sweepId: "s1", sortKey: "totalTrades", descending: true, pageSize: 2,
                        pageToken: first.nextPageToken))
            }
        }
    }

    @Test func sweepsListNewestFirstByStateAndPage() async throws {
        try await withTemporarySQLiteStore { store, _ in
            for i in 0..<5 {
                try await store.saveSweep(
                    Self.record("s\(i)", createdAt: Int64(i), state: i == 2 ? .running : .completed))
            }
            var query = SweepQuery()
            query.pageSize = 2
            var ids: [String] = []
            repeat {
                let page = try await store.listSweeps(query)
                ids += page.sweeps.map(\.id)
                query.pageToken = page.nextPageToken
            } while !query.pageToken.isEmpty
            #expect(ids == ["s4", "s3", "s2", "s1", "s0"])
            #expect(try await store.sweeps(in: [.running]).map(\.id) == ["s2"])
            var running = SweepQuery()
            running.states = [.running]
            #expect(try await store.listSweeps(running).sweeps.map(\.id) == ["s2"])
        }
    }

    @Test func walkForwardWindowsAndStitchedResultRoundTrip() async throws {
        try await withTemporarySQLiteStore { store, _ in
            var r = Self.record("wf", createdAt: 1)
            try await store.saveSweep(r)
            #expect(try await store.walkForwardWindows(sweepId: "wf") == [])
            var inSample = BacktestStatistics()
            inSample.sharpeRatio = 1.5
            var outOfSample = BacktestStatistics()
            outOfSample.returnPct = -2.25
            let windows = [
                WalkForwardWindowRow(
                    index: 1, inSample: TimeRange(start: 10, end: 40), outOfSample: TimeRange(start: 40, end: 50),
                    error: "no combination has a value of sharpe_ratio in sample"),
                WalkForwardWindowRow(
                    index: 0, inSample: TimeRange(start: 0, end: 30), outOfSample: TimeRange(start: 30, end: 40),
                    combination: 7, params: [SweepParam(name: "n1", value: 0.1), SweepParam(name: "n2", value: 20)],
                    inSampleValue: 1.5, inSampleStatistics: inSample, initialCapital: 10_000,
                    outOfSampleStatistics: outOfSample),
            ]
            for w in windows { try await store.saveWalkForwardWindow(sweepId: "wf", w) }
            // A retried write replaces.
            try await store.saveWalkForwardWindow(sweepId: "wf", windows[1])
            #expect(try await store.walkForwardWindows(sweepId: "wf") == [windows[1], windows[0]])
            let back = try await store.walkForwardWindows(sweepId: "wf")
            #expect(back[1].inSampleValue.isNaN && back[1].initialCapital.isNaN && back[1].combination == nil)

            r.stitchedStatistics = outOfSample
            r.stitchedSessionId = "session-1"
            try await store.saveSweep(r)
            #expect(try await store.sweep(id: "wf") == r)
            // Saving the record again (an upsert) keeps the windows.
            #expect(try await store.walkForwardWindows(sweepId: "wf").count == 2)
        }
    }

    /// deleteSweeps: the record, its rows and windows go in one call; other sweeps and
    /// every session stay (the sessions a sweep stored are its caller's to delete).
    @Test func deletingSweepsTakesTheirRowsAndWindowsAndNothingElse() async throws {
        try await withTemporarySQLiteStore { store, _ in
            for (i, id) in ["gone", "kept", "also-gone"].enumerated() {
                var r = Self.record(id, createdAt: Int64(i))
                r.stitchedSessionId = "best-\(id)"
                try await store.saveSweep(r)
                try await store.saveSweepResults(sweepId: id, (0..<5).map { Self.row($0, sharpe: Double($0)) })
                try await store.saveWalkForwardWindow(
                    sweepId: id,
                    WalkForwardWindowRow(
                        index: 0, inSample: TimeRange(start: 0, end: 30), outOfSample: TimeRange(start: 30, end: 40)))
                try await store.saveSession(sampleSession(id: "best-\(id)", createdAt: Int64(i), labels: ["sweep": id]))
            }
            #expect(try await store.deleteSweeps(ids: ["gone", "also-gone", "never-was"]) == ["gone", "also-gone"])
            for id in ["gone", "also-gone"] {
                #expect(try await store.sweep(id: id) == nil)
                let rows = try await store.sweepResults(
                    SweepResultQuery(sweepId: id, sortKey: "sharpeRatio", descending: true, pageSize: 100))
                #expect(rows.rows.isEmpty)
                #expect(try await store.walkForwardWindows(sweepId: id).isEmpty)
                #expect(try await store.session(id: "best-\(id)") != nil, "sessions are the caller's")
            }
            #expect(try await store.listSweeps(SweepQuery()).sweeps.map(\.id) == ["kept"])
            #expect(try await store.sweeps(in: [.completed]).map(\.id) == ["kept"])
            let kept = try await store.sweepResults(
                SweepResultQuery(sweepId: "kept", sortKey: "sharpeRatio", descending: true, pageSize: 100))
            #expect(kept.rows.count == 5)
            #expect(try await store.walkForwardWindows(sweepId: "kept").count == 1)
            // Again, or nothing: nothing is found.
            #expect(try await store.deleteSweeps(ids: ["gone"]).isEmpty)
            #expect(try await store.deleteSweeps(ids: []).isEmpty)
            // No orphan row is left by the deleted ones.
            for table in ["backtest_sweep_results", "backtest_walk_forward_windows"] {
                let left = try await store.reader().run { db throws(StoreError) -> Int64 in
                    let s = try db.prepare("SELECT count(*) FROM \(table) WHERE sweep_id <> 'kept'")
                    _ = try s.step()
                    let n = s.int64(0)
                    s.reset()
                    return n
                }
                #expect(left == 0, "\(table)")
            }
        }
    }
}
