import BacktestEngine
import Foundation
import TestSupport
import Testing

@testable import BacktestStore

/// Sweeps in a live QuestDB (QUESTDB_HTTP / QUESTDB_PG, as QuestDBStoreTests), the
/// SQLiteSweepTests cases and more: a retried write stores its rows once, results sort
/// by any statistic in either direction with NaN and failed rows last, recovery sees
/// only this node's sweeps, a deletion hides a sweep from every read at once and a
/// purge removes its rows for good. Tables persist between runs and other suites share
/// them: ids are unique to the run, and sweeps that are deleted live at times (today,
/// or a random day of 1980-1998 for the purge) where no other test deletes.
@Suite(
    .enabled(
        if: questDBHTTP != nil && questDBPG != nil,
        "QUESTDB_HTTP / QUESTDB_PG are unset: live QuestDB sweep tests skipped (e.g. QUESTDB_HTTP=http://127.0.0.1:9000 QUESTDB_PG=postgresql://admin:quest@127.0.0.1:8812/qdb)"
    ),
    .serialized)
struct QuestDBSweepTests {
    let run = String(UUID().uuidString.prefix(8))
    static let day: Int64 = 86_400_000_000

    /// A store of this run's node (or `owner`), its clock set by the test when given.
    func open(owner: String? = nil, clock: WallClock? = nil) async throws -> QuestDBStore {
        var options = QuestDBStore.Options()
        options.owner = owner ?? "sweep-tests-\(run)"
        if let clock { options.now = { clock.micros } }
        return try await QuestDBStore(httpURL: questDBHTTP!, pgURL: questDBPG!, options: options)
    }

    func pg() throws -> PGConnection { try PGConnection(url: QuestDBStore.withSSLDisabled(questDBPG!)) }

    /// Rows and distinct write keys a table holds of one sweep, deleted or not (from QuestDB itself).
    func raw(_ table: String, _ id: String) throws -> (rows: Int64, keys: Int64) {
        let row = try pg().query(
            "SELECT count(), count_distinct(ts) FROM \(table) WHERE sweep_id = $1", [.text(id)]
        ).rows.first
        return (row?.first?.int ?? -1, row?.last?.int ?? 0)
    }

    static var now: Int64 { Int64(Date().timeIntervalSince1970 * 1e6) }

    /// Every page of a sweep's results sorted by `key`, `size` rows a page.
    static func all(_ store: QuestDBStore, _ id: String, _ key: String, descending: Bool, size: Int = 2)
        async throws -> [SweepResultRow]
    {
        var out: [SweepResultRow] = []
        var token = ""
        repeat {
            let page = try await store.sweepResults(
                SweepResultQuery(sweepId: id, sortKey: key, descending: descending, pageSize: size, pageToken: token))
            #expect(page.rows.count <= size)
            out += page.rows
            token = page.nextPageToken
        } while !token.isEmpty
        return out
    }

    @Test func recordsAndResultsRoundTripSortAndAreStoredOnce() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let id = "qsw-\(run)-s1"
        let r = SQLiteSweepTests.record(id, createdAt: Self.now)
        try await store.saveSweep(r)
        #expect(try await store.sweep(id: id) == r)
        #expect(try await store.sweep(id: "qsw-\(run)-nope") == nil)
        let rows = [
            SQLiteSweepTests.row(0, sharpe: 0.5, trades: 3), SQLiteSweepTests.row(1, sharpe: nil, trades: 1),
            SQLiteSweepTests.row(2, sharpe: 1.5, trades: 2),
            SQLiteSweepTests.row(3, sharpe: nil, trades: -1), SQLiteSweepTests.row(4, sharpe: 0.5, trades: 9),
        ]
        try await store.saveSweepResults(sweepId: id, rows.reversed())
        // A retried write replaces, from this process and from another (which looks the
        // sweep's key base up).
        try await store.saveSweepResults(sweepId: id, [rows[0]])
        let other = try await open()
        defer { Task { await other.close() } }
        try await other.saveSweepResults(sweepId: id, rows)
        try await other.sync()
        #expect(try raw("backtest_sweep_results", id) == (5, 5))

        #expect(try await Self.all(store, id, "sharpeRatio", descending: true).map(\.combination) == [2, 0, 4, 1, 3])
        #expect(try await Self.all(store, id, "sharpeRatio", descending: false).map(\.combination) == [0, 4, 2, 1, 3])
        #expect(
            try await Self.all(store, id, "totalTrades", descending: true, size: 10).map(\.combination)
                == [4, 0, 2, 1, 3])
        let all = try await Self.all(store, id, "sharpeRatio", descending: true, size: 1000)
        #expect(all.first { $0.combination == 1 } == rows[1], "params and NaN round-trip exactly")
        #expect(all.last?.error == "engine: boom" && all.last?.statistics == nil)

        let first = try await store.sweepResults(
            SweepResultQuery(sweepId: id, sortKey: "sharpeRatio", descending: true, pageSize: 2))
        await #expect(throws: StoreError.self) {
            _ = try await store.sweepResults(
                SweepResultQuery(
                    sweepId: id, sortKey: "totalTrades", descending: true, pageSize: 2,
                    pageToken: first.nextPageToken))
        }
        await #expect(throws: StoreError.invalid("sort key \"luck\" is not a statistic")) {
            _ = try await store.sweepResults(SweepResultQuery(sweepId: id, sortKey: "luck", descending: true))
        }
        // Rows need their sweep: its creation time keys them.
        await #expect(throws: StoreError.self) {
            try await store.saveSweepResults(sweepId: "qsw-\(run)-unknown", rows)
        }
    }

    /// Forty combinations with values drawn from a few (ties), NaN, infinities and
    /// failed rows, sorted by several statistics both ways, a page of 7 at a time:
    /// the order of the reference ranking (values first, in the direction asked,
    /// infinities as values; no value last; ties by combination).
    @Test(arguments: [1, 2, 3] as [UInt64])
    func anyStatisticSortsBothWaysWithNoValueLast(seed: UInt64) async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let id = "qsw-\(run)-sort-\(seed)"
        try await store.saveSweep(SQLiteSweepTests.record(id, createdAt: Self.now))
        try await SQLiteSweepTests.checkSorting(store, sweepId: id, seed: seed)
    }

    @Test func sweepsListNewestFirstByStateAndRecoverOnlyThisNodes() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let base = Self.now
        let ids = (0..<5).map { "qsw-\(run)-l\($0)" }
        for (i, id) in ids.enumerated() {
            try await store.saveSweep(
                SQLiteSweepTests.record(id, createdAt: base + Int64(i), state: i == 2 ? .running : .completed))
        }
        var query = SweepQuery()
        query.pageSize = 2
        var listed: [String] = []
        repeat {
            let page = try await store.listSweeps(query)
            #expect(page.sweeps.count <= 2)
            listed += page.sweeps.map(\.id)
            query.pageToken = page.nextPageToken
        } while !query.pageToken.isEmpty
        #expect(listed.filter { ids.contains($0) } == ids.reversed())
        #expect(try await store.sweeps(in: [.running]).map(\.id) == [ids[2]])
        #expect(try await store.sweeps(in: []).isEmpty)
        var running = SweepQuery()
        running.states = [.running]
        let runningListed = try await store.listSweeps(running).sweeps
        #expect(runningListed.map(\.id).filter { ids.contains($0) } == [ids[2]])
        #expect(runningListed.allSatisfy { $0.state == .running })
        // A token of the other listing is refused.
        var all = SweepQuery()
        all.pageSize = 1
        running.pageToken = try await store.listSweeps(all).nextPageToken
        await #expect(throws: StoreError.self) { _ = try await store.listSweeps(running) }

        // Another node reads them all, but recovers none of them.
        let other = try await open(owner: "sweep-tests-\(run)-other")
        defer { Task { await other.close() } }
        #expect(try await other.sweep(id: ids[2])?.state == .running)
        #expect(try await other.sweeps(in: [.running, .started]).isEmpty)
        // Recovery on this node, as the registry does it: the running one ends FAILED.
        var interrupted = try #require(try await store.sweeps(in: [.started, .running]).first)
        interrupted.state = .failed
        interrupted.errorMessage = "interrupted"
        try await store.saveSweep(interrupted)
        #expect(try await store.sweeps(in: [.started, .running]).isEmpty)
        #expect(try await other.sweep(id: ids[2]) == interrupted)
        #expect(try await store.deleteSweeps(ids: ids) == Set(ids))
    }

    @Test func walkForwardWindowsAndStitchedResultRoundTrip() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let id = "qsw-\(run)-wf"
        var r = SQLiteSweepTests.record(id, createdAt: Self.now)
        try await store.saveSweep(r)
        #expect(try await store.walkForwardWindows(sweepId: id) == [])
        var inSample = BacktestStatistics()
        inSample.sharpeRatio = 1.5
        var outOfSample = BacktestStatistics()
        outOfSample.returnPct = -2.25
        outOfSample.profitFactor = .infinity
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
        for w in windows { try await store.saveWalkForwardWindow(sweepId: id, w) }
        // A retried write replaces.
        try await store.saveWalkForwardWindow(sweepId: id, windows[1])
        #expect(try await store.walkForwardWindows(sweepId: id) == [windows[1], windows[0]])
        let back = try await store.walkForwardWindows(sweepId: id)
        #expect(back[1].inSampleValue.isNaN && back[1].initialCapital.isNaN && back[1].combination == nil)
        #expect(try raw("backtest_walk_forward_windows", id) == (2, 2))

        r.stitchedStatistics = outOfSample
        r.stitchedSessionId = "session-1"
        r.bestValue = .infinity
        try await store.saveSweep(r)
        #expect(try await store.sweep(id: id) == r)
        #expect(try raw("backtest_sweeps", id).rows == 1, "a save replaces the record")
        #expect(try await store.walkForwardWindows(sweepId: id).count == 2)
    }

    @Test func aDeletedSweepIsGoneFromEveryRead() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let gone = "qsw-\(run)-gone", kept = "qsw-\(run)-kept"
        for (i, id) in [gone, kept].enumerated() {
            try await store.saveSweep(SQLiteSweepTests.record(id, createdAt: Self.now + Int64(i), state: .running))
            try await store.saveSweepResults(
                sweepId: id, (0..<30).map { SQLiteSweepTests.row($0, sharpe: Double($0), trades: 1) })
            try await store.saveWalkForwardWindow(
                sweepId: id,
                WalkForwardWindowRow(
                    index: 0, inSample: TimeRange(start: 0, end: 1), outOfSample: TimeRange(start: 1, end: 2)))
        }
        #expect(try await store.deleteSweeps(ids: [gone, "qsw-\(run)-never", gone]) == [gone])

        func visible(_ s: QuestDBStore, _ id: String) async throws -> (SweepRecord?, Int, Int, Bool, Bool) {
            var all = SweepQuery()
            all.pageSize = 1000
            return (
                try await s.sweep(id: id),
                try await Self.all(s, id, "sharpeRatio", descending: true, size: 1000).count,
                try await s.walkForwardWindows(sweepId: id).count,
                try await s.listSweeps(all).sweeps.contains { $0.id == id },
                try await s.sweeps(in: [.running]).contains { $0.id == id }
            )
        }
        let hidden = try await visible(store, gone)
        #expect(hidden.0 == nil && hidden.1 == 0 && hidden.2 == 0 && !hidden.3 && !hidden.4)
        let whole = try await visible(store, kept)
        #expect(whole.0?.id == kept && whole.1 == 30 && whole.2 == 1 && whole.3 && whole.4)
        #expect(try await store.deleteSweeps(ids: [gone]).isEmpty, "a second delete finds nothing")
        await #expect(throws: StoreError.self) {
            try await store.saveSweepResults(sweepId: gone, [SQLiteSweepTests.row(0, sharpe: 1)])
        }
        // Another process on the same QuestDB sees the deletion as soon as it returned.
        let other = try await open()
        defer { Task { await other.close() } }
        #expect(try await other.sweep(id: gone) == nil)
        #expect(try await other.sweep(id: kept) != nil)
        // The rows are still in QuestDB (hidden) until a purge (next test).
        #expect(try raw("backtest_sweep_results", gone).rows == 30)
        #expect(try await store.deleteSweeps(ids: [kept]) == [kept])
    }

    /// Sweeps A and B share a day (results) and a month (records, windows); C is alone
    /// in another month. Deleting A and C, then purging: their rows are gone from
    /// QuestDB itself, B is whole, and the tombstones go once their day is quiet.
    @Test func aPurgeRemovesDeletedSweepsRowsForGood() async throws {
        let d1 = Int64.random(in: 3_700...10_500) * Self.day  // 1980 .. 1998
        let d2 = d1 + 40 * Self.day
        let clock = WallClock(d2 + 70 * Self.day)
        let store = try await open(clock: clock)
        defer { Task { await store.close() } }
        let a = "qswpurge-\(run)-a", b = "qswpurge-\(run)-b", c = "qswpurge-\(run)-c"
        let tables = ["backtest_sweeps", "backtest_sweep_results", "backtest_walk_forward_windows"]
        for (id, at) in [(a, d1 + 1000), (b, d1 + 2000), (c, d2 + 1000)] {
            try await store.saveSweep(SQLiteSweepTests.record(id, createdAt: at))
            try await store.saveSweepResults(
                sweepId: id, (0..<50).map { SQLiteSweepTests.row($0, sharpe: Double($0), trades: 2) })
            try await store.saveWalkForwardWindow(
                sweepId: id,
                WalkForwardWindowRow(
                    index: 0, inSample: TimeRange(start: 0, end: 1), outOfSample: TimeRange(start: 1, end: 2)))
        }
        try await store.sync()
        let bBefore = try await Self.all(store, b, "sharpeRatio", descending: true, size: 1000)
        #expect(bBefore.count == 50)

        #expect(try await store.deleteSweeps(ids: [a, c]) == [a, c])
        try await purgeUntil(store) {
            try [a, c].allSatisfy { id in try tables.allSatisfy { try raw($0, id).rows == 0 } }
        }
        #expect(try await Self.all(store, b, "sharpeRatio", descending: true, size: 1000) == bBefore)
        #expect(try tables.map { try raw($0, b).rows } == [1, 50, 1])
        #expect(try await store.sweep(id: b) != nil)
        clock.advance(2 * Self.day)
        try await purgeUntil(store) { try tombstones([a, c]) == 0 }
        #expect(try await store.sweep(id: a) == nil)
        _ = try await store.deleteSweeps(ids: [b])
    }

    func tombstones(_ ids: [String]) throws -> Int64 {
        try ids.reduce(0) { sum, id in
            sum
                + (try pg().query("SELECT count() FROM backtest_deleted_sweeps WHERE sweep_id = $1", [.text(id)])
                    .rows.first?.first?.int ?? 0)
        }
    }

    /// Purges until `done` (another node's purge may hold the lock, or do the work).
    func purgeUntil(_ store: QuestDBStore, _ done: () throws -> Bool) async throws {
        for _ in 0..<300 {
            _ = try await store.purgeDeleted()
            if try done() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the purge did not finish")
    }
}
