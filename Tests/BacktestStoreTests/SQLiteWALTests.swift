import BacktestEngine
import Foundation
import Testing

@testable import BacktestStore

/// The WAL stays bounded while the server runs (issue 16, item 2): many short sessions
/// write as the service does, with reads in between, on a real file.
@Suite struct SQLiteWALTests {
    static func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    static func withStore<T>(
        policy: SQLiteCheckpointer.Policy,
        at dir: URL = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)"),
        _ body: (SQLiteStore, String) async throws -> T
    ) async throws -> T {
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("backtest.sqlite").path
        let store = try SQLiteStore(path: path, checkpointPolicy: policy)
        do {
            let result = try await body(store, path)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    static let trades = (1...40).map { n in
        TradeRecord(
            number: n, side: n % 2 == 0 ? .long : .short, quantity: 10, entryTime: Int64(n) * 86_400_000_000,
            exitTime: Int64(n + 1) * 86_400_000_000, entryPrice: 100, exitPrice: 101, pnl: 10, returnPct: 1,
            commission: 0.1, entryRule: "S1", exitRule: "ZE1", entryIndex: n, exitIndex: n + 1)
    }

    static let points = (0..<1_000).map { k in
        EquitySample(
            time: Int64(k) * 86_400_000_000, equity: 10_000 + Double(k % 97), cash: 10_000, positionSize: 0,
            drawdownPct: 0)
    }

    /// 600 short sessions, two at a time, each: the started, running and terminal records,
    /// 40 trades and 1000 equity points (about 1.7 MB of WAL per session: every commit
    /// writes whole 64 KiB pages). Between its writes each session reads an earlier one
    /// through trades and equity cursors held open across those writes, and GetSession /
    /// ListSessions style reads. After every write the -wal file must be within twice
    /// the hard limit. Before the checkpoint policy of SQLiteCheckpointer it grew by the
    /// full 1.7 MB a session and passed the bound within a dozen sessions.
    @Test func walStaysBoundedAcrossManyShortSessions() async throws {
        let policy = SQLiteCheckpointer.Policy(thresholdBytes: 4 << 20)
        let bound = 2 * policy.hardLimitBytes
        let sessions = 600
        try await Self.withStore(policy: policy) { store, path in
            let wal = path + "-wal"
            // The -wal file's size after a write: it must be within the bound.
            @Sendable func check(_ what: String) throws -> Int {
                let size = Self.fileSize(wal)
                try #require(size <= bound, "WAL \(size) bytes after \(what), bound \(bound)")
                return size
            }
            /// Runs session i; returns the largest WAL seen after its writes.
            @Sendable func session(_ i: Int) async throws -> Int {
                var record = sampleSession(
                    id: "s\(i)", createdAt: Int64(i) * 1_000, state: .started, labels: ["sweep": "\(i % 7)"],
                    clientRequestId: "c\(i)")
                // An earlier, finished session read a batch at a time across this one's writes.
                let earlier = "s\(max(0, i - 2))"
                let done = i >= 2
                let tradeCursor = try await store.trades(sessionId: earlier, batchSize: 10)
                let equityCursor = try await store.equity(
                    sessionId: earlier, range: TimeRange(start: .min, end: .max), batchSize: 250)
                var tradesRead = 0
                var pointsRead = 0
                var largest = 0
                func readSome() async throws {
                    tradesRead += try await tradeCursor.next()?.count ?? 0
                    pointsRead += try await equityCursor.next()?.count ?? 0
                }
                try await store.saveSession(record)
                largest = max(largest, try check("s\(i) started"))
                try await readSome()
                record.state = .running
                try await store.saveSession(record)
                largest = max(largest, try check("s\(i) running"))
                try await readSome()
                try await store.appendTrades(sessionId: record.id, Self.trades)
                largest = max(largest, try check("s\(i) trades"))
                try await readSome()
                try await store.appendEquity(sessionId: record.id, Self.points)
                largest = max(largest, try check("s\(i) equity"))
                try await readSome()
                record = sampleSession(
                    id: record.id, createdAt: record.createdAt, state: .completed, labels: record.labels,
                    clientRequestId: record.clientRequestId)
                try await store.saveSession(record)
                largest = max(largest, try check("s\(i) completed"))
                while let batch = try await tradeCursor.next() { tradesRead += batch.count }
                while let batch = try await equityCursor.next() { pointsRead += batch.count }
                if done {
                    #expect(tradesRead == Self.trades.count && pointsRead == Self.points.count)
                    #expect(try await store.session(id: earlier)?.state == .completed)
                }
                var query = SessionQuery()
                query.pageSize = 20
                #expect(try await !store.listSessions(query).sessions.isEmpty)
                return largest
            }
            let largest = try await withThrowingTaskGroup(of: Int.self) { group in
                for lane in 0..<2 {
                    group.addTask {
                        var largest = 0
                        for i in stride(from: lane, to: sessions, by: 2) {
                            largest = max(largest, try await session(i))
                        }
                        return largest
                    }
                }
                return try await group.reduce(0) { max($0, $1) }
            }
            await store.checkpointer.waitForCheckpoint()
            let stats = store.checkpointer.stats
            // 600 sessions wrote about 1 GB through the WAL: it was rewound again and again.
            #expect(stats.restarts >= 20, "\(stats)")
            #expect(largest <= bound)
            print("WAL at most \(largest) bytes over \(sessions) sessions; \(stats)")
            var query = SessionQuery()
            query.pageSize = 1_000
            #expect(try await store.listSessions(query).sessions.count == sessions)
        }
    }

    /// The checkpointer sees the WAL's exact size after each commit (the WAL hook), not an
    /// estimate from the rows written: one small session record dirties several 64 KiB
    /// pages (table, indexes, labels), and every page goes to the WAL whole.
    @Test func commitsReportTheWALsExactSize() async throws {
        try await Self.withStore(policy: SQLiteCheckpointer.Policy()) { store, path in
            try await store.saveSession(sampleSession(id: "a", createdAt: 1, labels: ["k": "v"]))
            let reported = store.checkpointer.stats.walBytes
            #expect(reported == Self.fileSize(path + "-wal"))
            try await store.saveSession(sampleSession(id: "b", createdAt: 2, labels: ["k": "v"]))
            let grown = store.checkpointer.stats.walBytes - reported
            #expect(grown == Self.fileSize(path + "-wal") - reported)
            // Whole pages: far more than the record's own few hundred bytes.
            #expect(grown >= 65_536 + 24)
        }
    }

    /// SQLite rewinds the WAL only when a writer begins with every frame copied back and
    /// no reader in the WAL. A PASSIVE checkpoint does not wait for a reader on an older
    /// snapshot (a batch being read), and when a commit lands before the next writer
    /// begins (a busy server), the WAL just grows: in store-bench wal, PASSIVE rounds at the
    /// exact threshold left it at 3.5 GB after 2000 sessions. Here both happen in a round:
    /// a reader holds a snapshot from before the threshold until PASSIVE is done, then a
    /// commit lands. The round must leave the WAL to be written from its start all the same.
    @Test func aReaderAndACommitDuringACheckpointDoNotStopTheRewind() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wal-\(UUID().uuidString)")
        let path = dir.appendingPathComponent("backtest.sqlite").path
        let other = OtherConnection()
        var policy = SQLiteCheckpointer.Policy(thresholdBytes: 2 << 20)
        // On the checkpointer's queue, between its PASSIVE and RESTART steps.
        policy.afterPassive = {
            other.use { db in
                try? db.execute("COMMIT")
                try? db.execute("INSERT INTO noise VALUES (randomblob(200000))")
            }
        }
        try await Self.withStore(policy: policy, at: dir) { store, _ in
            try other.open(path: path)
            other.use { db in
                try? db.execute("CREATE TABLE noise (b BLOB)")
                try? db.execute("BEGIN; SELECT count(*) FROM backtest_sessions;")
            }
            // One write at a time, the round alone once it starts: nothing else is timed.
            var i = 0
            while store.checkpointer.stats.rounds == 0 {
                try #require(i < 100)
                try await store.saveSession(sampleSession(id: "w\(i)", createdAt: Int64(i), labels: ["k": "\(i)"]))
                await store.checkpointer.waitForCheckpoint()
                i += 1
            }
            #expect(store.checkpointer.stats.restarts == 1)
            // The next commit writes the WAL from its start.
            try await store.saveSession(sampleSession(id: "after", createdAt: -1))
            #expect(store.checkpointer.stats.walBytes < policy.thresholdBytes)
            other.close()
        }
    }

    /// A cursor between batches holds no read transaction: a checkpoint round rewinds the
    /// WAL while it is open, and it then reads on, complete and in order.
    @Test func anOpenCursorDoesNotPinTheWAL() async throws {
        let policy = SQLiteCheckpointer.Policy(thresholdBytes: 2 << 20)
        try await Self.withStore(policy: policy) { store, path in
            let many = (1...3_000).map(SQLiteResultsTests.trade)
            try await store.appendTrades(sessionId: "held", many)
            let cursor = try await store.trades(sessionId: "held", batchSize: 100)
            var read = try await cursor.next() ?? []
            // Writes past the threshold until a round has rewound the WAL (each round
            // starts at the threshold; one that could not rewind is followed by another).
            var i = 0
            while store.checkpointer.stats.restarts == 0 {
                try #require(i < 200, "no checkpoint round rewound the WAL: \(store.checkpointer.stats)")
                try await store.saveSession(sampleSession(id: "w\(i)", createdAt: Int64(i), labels: ["k": "\(i)"]))
                await store.checkpointer.waitForCheckpoint()
                i += 1
            }
            // The next commit writes the WAL from its start.
            try await store.saveSession(sampleSession(id: "after", createdAt: -1))
            #expect(store.checkpointer.stats.walBytes < policy.thresholdBytes)
            #expect(Self.fileSize(path + "-wal") <= policy.journalSizeLimitBytes)
            while let batch = try await cursor.next() { read += batch }
            #expect(read.map(\.number) == Array(1...3_000))
        }
    }
}

/// A connection of the test's own, outside the store, used from one place at a time.
private final class OtherConnection: @unchecked Sendable {
    private let lock = NSLock()
    private var db: SQLiteConnection?

    func open(path: String) throws {
        let db = try SQLiteConnection(path: path)
        lock.withLock { self.db = db }
    }

    func use(_ body: (SQLiteConnection) -> Void) {
        lock.withLock {
            if let db { body(db) }
        }
    }

    func close() {
        lock.withLock {
            db?.close()
            db = nil
        }
    }
}
