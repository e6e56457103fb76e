import BacktestEngine
import Foundation
import Synchronization
import Testing

@testable import BacktestStore

/// Deleting sessions from a live QuestDB (QUESTDB_HTTP / QUESTDB_PG, as
/// QuestDBStoreTests): a deletion hides the session from every read at once; a purge
/// removes its rows for good, from partitions no write can reach. The purge tests put
/// their rows in partitions of a random day of 1980-1999 and run the store's clock
/// there, so they touch nothing another test (or run) writes: other suites share this
/// QuestDB while these run.
@Suite(
    .enabled(
        if: questDBHTTP != nil && questDBPG != nil,
        "QUESTDB_HTTP / QUESTDB_PG are unset: live QuestDB tests skipped (e.g. QUESTDB_HTTP=http://127.0.0.1:9000 QUESTDB_PG=postgresql://admin:quest@127.0.0.1:8812/qdb)"
    ),
    .serialized)
struct QuestDBDeletionTests {
    let run = String(UUID().uuidString.prefix(8))
    static let day: Int64 = 86_400_000_000

    /// A store whose clock the test sets.
    func open(clock: WallClock? = nil) async throws -> QuestDBStore {
        var options = QuestDBStore.Options()
        options.owner = "deletion-tests"
        if let clock { options.now = { clock.micros } }
        return try await QuestDBStore(httpURL: questDBHTTP!, pgURL: questDBPG!, options: options)
    }

    func pg() throws -> PGConnection { try PGConnection(url: QuestDBStore.withSSLDisabled(questDBPG!)) }

    /// Rows a table holds of one session, deleted or not (straight from QuestDB).
    func rawCount(_ table: String, _ id: String) throws -> Int64 {
        try pg().query("SELECT count() FROM \(table) WHERE session_id = $1", [.text(id)]).rows.first?.first?.int ?? -1
    }

    static func trades(_ count: Int) -> [TradeRecord] {
        (1...count).map { n in
            TradeRecord(
                number: n, side: .long, quantity: 1, entryTime: Int64(n) * 1_000_000,
                exitTime: Int64(n) * 1_000_000 + 5,
                entryPrice: 100, exitPrice: 101, pnl: 1, returnPct: 1, commission: 0, entryRule: "S1",
                exitRule: "ZE1", entryIndex: n, exitIndex: n + 1)
        }
    }

    static func points(_ count: Int) -> [EquitySample] {
        (0..<count).map {
            EquitySample(
                time: Int64($0) * 60_000_000, equity: 10_000 + Double($0), cash: 1, positionSize: 0, drawdownPct: 0)
        }
    }

    static let everything = TimeRange(start: .min / 2, end: .max)

    func stored(_ store: QuestDBStore, _ id: String) async throws -> (SessionRecord?, Int, Int) {
        (
            try await store.session(id: id),
            try await allRows(try await store.trades(sessionId: id, batchSize: 100)).count,
            try await allRows(try await store.equity(sessionId: id, range: Self.everything, batchSize: 100)).count
        )
    }

    @Test func aDeletedSessionIsGoneFromEveryRead() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let base = Int64(Date().timeIntervalSince1970 * 1e6)
        let symbol = "DEL-\(run)"
        let ids = ["qdel-\(run)-gone", "qdel-\(run)-kept"]
        for (i, id) in ids.enumerated() {
            // Running: the store does not check states (the registry does); recovery's
            // read must not see a deleted session either.
            try await store.saveSession(
                sampleSession(
                    id: id, createdAt: base + Int64(i), state: .running, symbol: symbol, labels: ["run": run],
                    clientRequestId: "req-\(id)"))
            try await store.appendTrades(sessionId: id, Self.trades(30))
            try await store.appendEquity(sessionId: id, startingAt: 0, Self.points(200))
        }
        #expect(try await store.deleteSessions(ids: [ids[0], "qdel-\(run)-never"]) == [ids[0]])

        let (record, trades, equity) = try await stored(store, ids[0])
        #expect(record == nil)
        #expect(trades == 0)
        #expect(equity == 0)
        #expect(try await store.session(clientRequestId: "req-\(ids[0])") == nil)
        var query = SessionQuery()
        query.symbol = symbol
        #expect(try await store.listSessions(query).sessions.map(\.id) == [ids[1]])
        query.labels = ["run": run]
        #expect(try await store.listSessions(query).sessions.map(\.id) == [ids[1]])
        let running = try await store.sessions(in: [.running]).map(\.id)
        #expect(!running.contains(ids[0]))
        #expect(running.contains(ids[1]))

        // The other session is whole, and a second delete finds nothing.
        let (kept, keptTrades, keptEquity) = try await stored(store, ids[1])
        #expect(kept?.id == ids[1])
        #expect(keptTrades == 30)
        #expect(keptEquity == 200)
        #expect(try await store.deleteSessions(ids: [ids[0]]).isEmpty)

        // Another process on the same QuestDB sees the deletion as soon as it returned.
        let other = try await open()
        defer { Task { await other.close() } }
        #expect(try await other.session(id: ids[0]) == nil)
        #expect(try await other.session(id: ids[1]) != nil)
        // Tidy: the kept one must not stay RUNNING in the shared tables.
        #expect(try await store.deleteSessions(ids: [ids[1]]) == [ids[1]])
    }

    /// Sessions A and B share a day (results) and a month (session rows); C is alone in
    /// another. Deleting A and C, then purging: C's partitions are dropped, A and B's
    /// rewritten without A. Rows of A and C are gone from QuestDB itself; B is whole.
    /// Tombstones go once their day is quiet.
    @Test func aPurgeRemovesTheRowsForGood() async throws {
        let dayNumber = Int64.random(in: 3_700...10_500)  // 1980 .. 1998
        let d1 = dayNumber * Self.day
        let d2 = d1 + 40 * Self.day  // another month
        let clock = WallClock(d2 + 70 * Self.day)
        let store = try await open(clock: clock)
        defer { Task { await store.close() } }
        let a = "qpurge-\(run)-a", b = "qpurge-\(run)-b", c = "qpurge-\(run)-c"
        for (id, at) in [(a, d1 + 1000), (b, d1 + 2000), (c, d2 + 1000)] {
            try await store.saveSession(sampleSession(id: id, createdAt: at, symbol: "PURGE-\(run)"))
            store.useResultBase(at, for: id)
            try await store.appendTrades(sessionId: id, Self.trades(50))
            try await store.appendEquity(sessionId: id, startingAt: 0, Self.points(500))
        }
        try await store.sync()
        let bBefore = try await stored(store, b)

        #expect(try await store.deleteSessions(ids: [a, c]) == [a, c])
        // Purges may run elsewhere too (a backtestd on this QuestDB): ask until the rows
        // are gone, as any purge leaves them.
        try await purgeUntil(store) {
            try [a, c].allSatisfy { id in
                try ["backtest_sessions", "backtest_trades", "backtest_equity_curve"].allSatisfy {
                    try rawCount($0, id) == 0
                }
            }
        }
        #expect(try await stored(store, b) == bBefore)
        #expect(bBefore.1 == 50 && bBefore.2 == 500)
        for table in ["backtest_sessions", "backtest_trades", "backtest_equity_curve"] {
            #expect(
                try rawCount(table, b) == (table == "backtest_sessions" ? 1 : table == "backtest_trades" ? 50 : 500))
        }
        // The tombstones' own day is not quiet yet; two days on it is, and they go.
        #expect(try tombstones([a, c]) == 2)
        clock.advance(2 * Self.day)
        try await purgeUntil(store) { try tombstones([a, c]) == 0 }
        #expect(try await store.session(id: a) == nil)
        #expect(try await store.session(id: b) != nil)
    }

    /// A partition written lately (by the store's clock) is left alone: a running
    /// session may still write there. Its deleted rows stay invisible meanwhile.
    @Test func recentPartitionsWaitUntilTheyAreQuiet() async throws {
        let d = Int64.random(in: 3_700...10_500) * Self.day
        let clock = WallClock(d + 3_600_000_000)  // an hour into the day
        let store = try await open(clock: clock)
        defer { Task { await store.close() } }
        let gone = "qquiet-\(run)-gone", kept = "qquiet-\(run)-kept"
        for (i, id) in [gone, kept].enumerated() {
            let at = d + Int64(i) * 1000
            try await store.saveSession(sampleSession(id: id, createdAt: at))
            store.useResultBase(at, for: id)
            try await store.appendTrades(sessionId: id, Self.trades(10))
        }
        #expect(try await store.deleteSessions(ids: [gone]) == [gone])
        let report = try await store.purgeDeleted()
        #expect(try rawCount("backtest_trades", gone) == 10, "\(report)")
        #expect(try await stored(store, gone).1 == 0)
        // Later, it is quiet.
        clock.advance(62 * Self.day)
        try await purgeUntil(store) { try rawCount("backtest_trades", gone) == 0 }
        #expect(try rawCount("backtest_trades", kept) == 10)
        clock.advance(2 * Self.day)
        try await purgeUntil(store) { try tombstones([gone]) == 0 }
        _ = try await store.deleteSessions(ids: [kept])
    }

    /// A purge that died between dropping a partition and putting the kept rows back
    /// left them in the staging table: the next purge restores them first.
    @Test func rowsAnInterruptedPurgeKeptAsideComeBack() async throws {
        let d = Int64.random(in: 3_700...10_500) * Self.day
        let clock = WallClock(d + 90 * Self.day)
        let store = try await open(clock: clock)
        defer { Task { await store.close() } }
        let survivor = "qleft-\(run)-survivor", gone = "qleft-\(run)-gone"
        for (i, id) in [survivor, gone].enumerated() {
            try await store.saveSession(sampleSession(id: id, createdAt: d + Int64(i)))
            store.useResultBase(d + Int64(i) * 1000, for: id)
            try await store.appendTrades(sessionId: id, Self.trades(20))
        }
        try await store.sync()
        // What a purge does up to its crash, holding the lock as a purge does: the
        // survivor's rows aside, the partition dropped. (Its lock is then released, as
        // after a stale one is broken.)
        let lock = try await takeLock(store)
        let db = try pg()
        let partition = QuestDBPartition(.day, containing: d)
        _ = try db.query(
            "CREATE TABLE backtest_trades_purge AS (SELECT * FROM backtest_trades WHERE session_id = '\(survivor)')")
        _ = try db.query(QuestDBSQL.dropPartition("backtest_trades", partition))
        try await store.waitForWAL("backtest_trades")
        await lock.release()
        #expect(try rawCount("backtest_trades", survivor) == 0)

        #expect(try await store.deleteSessions(ids: [gone]) == [gone])
        try await purgeUntil(store) {
            try rawCount("backtest_trades", survivor) == 20
                && db.query(QuestDBSQL.tableExists("backtest_trades_purge").sql, [.text("backtest_trades_purge")])
                    .rows.first?.first?.int == 0
        }
        #expect(try await stored(store, survivor).1 == 20)
        clock.advance(2 * Self.day)
        try await purgeUntil(store) { try tombstones([gone]) == 0 && rawCount("backtest_sessions", gone) == 0 }
        _ = try await store.deleteSessions(ids: [survivor])
    }

    @Test func onePurgeAtATimeOverEveryNode() async throws {
        let store = try await open()
        defer { Task { await store.close() } }
        let held = try await takeLock(store)
        #expect(try await QuestDBPurgeLock.take(store.maintenance, staleAfter: .seconds(3600)) == nil)
        try await held.confirm()
        // A holder that died: its lock is broken once stale, and the first holder knows.
        let second = try #require(try await QuestDBPurgeLock.take(store.maintenance, staleAfter: .zero))
        await #expect(throws: StoreError.self) { try await held.confirm() }
        await held.release()  // not its lock any more: left alone
        try await second.confirm()
        await second.release()
    }

    // MARK: Helpers

    func tombstones(_ ids: [String]) throws -> Int64 {
        try ids.reduce(0) { sum, id in
            sum
                + (try pg().query("SELECT count() FROM backtest_deleted_sessions WHERE session_id = $1", [.text(id)])
                    .rows.first?.first?.int ?? 0)
        }
    }

    /// The purge lock, once another node's purge (a backtestd on this QuestDB) is done with it.
    func takeLock(_ store: QuestDBStore) async throws -> QuestDBPurgeLock {
        for _ in 0..<600 {
            if let lock = try await QuestDBPurgeLock.take(store.maintenance, staleAfter: .seconds(3600)) { return lock }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StoreError.unavailable("the purge lock stayed taken")
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

/// The store's wall clock in these tests: set, and moved on, by the test.
final class WallClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    var micros: Int64 { value.withLock { $0 } }
    func advance(_ by: Int64) { value.withLock { $0 += by } }
}
