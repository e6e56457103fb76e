import BacktestEngine
import BacktestStore
import Foundation
import Synchronization

// store-bench wal [sessions] [directory]: short sessions through the SQLite store as the
// service writes them (a pending record, running, trades and equity, the terminal record
// with statistics; two sessions at a time) while a reader polls as clients do (GetSession,
// ListSessions, trades and equity cursors read a batch at a time across the writes).
// Prints the WAL and database sizes as the sessions accumulate, then the time close takes.
// Figures go to BENCHMARKS.md ("SQLite WAL under many short sessions").

final class WALBench: Sendable {
    let sessions: Int
    let directory: String
    /// Sessions run at once (the service's default --max-running on this machine).
    let concurrency = 2
    let tradesPerSession = 40
    let pointsPerSession = 1_000

    init(sessions: Int, directory: String) {
        self.sessions = sessions
        self.directory = directory
    }

    static func fileSize(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }

    func record(_ i: Int, state: SessionState, createdAt: Int64) -> SessionRecord {
        var statistics: BacktestStatistics?
        if state == .completed {
            var s = BacktestStatistics()
            s.totalTrades = tradesPerSession
            s.equityFinal = 10_000 + Double(i)
            statistics = s
        }
        return SessionRecord(
            id: "wal-\(i)", state: state, symbol: "SYN", timeframe: "1d",
            range: TimeRange(start: 0, end: Int64(pointsPerSession) * 86_400_000_000), strategyName: "sma_cross",
            accelerationFactor: 0, request: [UInt8](repeating: UInt8(i & 0xff), count: 160),
            clientRequestId: "client-\(i)", labels: ["sweep": "n1=\(i % 50)", "batch": "\(i / 100)"],
            progressPct: state == .completed ? 100 : 0, simTime: nil, eventsProcessed: 0, finalPnl: .nan,
            totalTrades: 0, winRatePct: .nan, statistics: statistics, createdAt: createdAt,
            startedAt: state == .started ? nil : createdAt + 1, completedAt: state.isTerminal ? createdAt + 2 : nil,
            errorMessage: "", stopReason: "")
    }

    /// The longest single write call so far, in seconds (a checkpoint holding writers shows here).
    let slowestWrite = Mutex<Double>(0)

    func timed(_ write: () async throws -> Void) async rethrows {
        let t0 = now()
        try await write()
        let elapsed = now() - t0
        slowestWrite.withLock { $0 = Swift.max($0, elapsed) }
    }

    /// One session's writes, in the order a run makes them.
    func session(_ i: Int, store: SQLiteStore) async throws {
        let createdAt = Int64(i) * 1_000
        try await timed { try await store.saveSession(record(i, state: .started, createdAt: createdAt)) }
        try await timed { try await store.saveSession(record(i, state: .running, createdAt: createdAt)) }
        let trades = (1...tradesPerSession).map { n in
            TradeRecord(
                number: n, side: n % 2 == 0 ? .long : .short, quantity: 10, entryTime: Int64(n) * 86_400_000_000,
                exitTime: Int64(n + 1) * 86_400_000_000, entryPrice: 100, exitPrice: 101, pnl: 10, returnPct: 1,
                commission: 0.1, entryRule: "S1", exitRule: "ZE1", entryIndex: n, exitIndex: n + 1)
        }
        let points = (0..<pointsPerSession).map { k in
            EquitySample(
                time: Int64(k) * 86_400_000_000, equity: 10_000 + Double(k % 97), cash: 10_000, positionSize: 0,
                drawdownPct: 0)
        }
        try await timed { try await store.appendTrades(sessionId: "wal-\(i)", trades) }
        try await timed { try await store.appendEquity(sessionId: "wal-\(i)", points) }
        try await timed { try await store.saveSession(record(i, state: .completed, createdAt: createdAt)) }
    }

    func run() async throws {
        let path = directory + "/wal.sqlite"
        let store = try SQLiteStore(path: path)
        print("store-bench wal: \(sessions) sessions (\(concurrency) at a time, \(tradesPerSession) trades, ")
        print("\(pointsPerSession) equity points each) with a reader polling, SQLite at \(directory)")
        print("  sessions   elapsed s   WAL MB (max so far)   DB MB")
        let start = now()
        let reporting = Swift.max(1, sessions / 10)
        var maxWAL = 0
        let done = ManagedCounter()
        // The reader: what clients ask while sessions run.
        let reader = Task {
            var reads = 0
            while !Task.isCancelled {
                let latest = done.value
                guard latest > 0 else {
                    await Task.yield()
                    continue
                }
                let id = "wal-\(latest - 1)"
                _ = try await store.session(id: id)
                var query = SessionQuery()
                query.pageSize = 20
                _ = try await store.listSessions(query)
                // Cursors open across the writers' commits, read a batch at a time.
                let trades = try await store.trades(sessionId: id, batchSize: 10)
                let equity = try await store.equity(
                    sessionId: id, range: TimeRange(start: .min, end: .max), batchSize: 250)
                while try await trades.next() != nil {
                    _ = try await equity.next()
                    await Task.yield()
                }
                while try await equity.next() != nil {}
                reads += 1
            }
            return reads
        }
        var next = 0
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                let i = next
                next += 1
                group.addTask { try await self.session(i, store: store) }
            }
            while try await group.next() != nil {
                let finished = done.increment()
                maxWAL = Swift.max(maxWAL, Self.fileSize(path + "-wal"))
                if finished % reporting == 0 || finished == sessions {
                    print(
                        String(
                            format: "  %8d   %9.1f   %8.1f (%8.1f)   %7.1f", finished, now() - start,
                            Double(Self.fileSize(path + "-wal")) / 1e6, Double(maxWAL) / 1e6,
                            Double(Self.fileSize(path)) / 1e6))
                }
                if next < sessions {
                    let i = next
                    next += 1
                    group.addTask { try await self.session(i, store: store) }
                }
            }
        }
        reader.cancel()
        let reads = try await reader.value
        print(
            String(
                format: "  %d reader rounds; %.0f sessions/s; slowest write %.3f s", reads,
                Double(sessions) / (now() - start), slowestWrite.withLock { $0 }))
        let closing = now()
        await store.close()
        print(
            String(
                format: "close: %.3f s; WAL after close %.1f MB, database %.1f MB", now() - closing,
                Double(Self.fileSize(path + "-wal")) / 1e6, Double(Self.fileSize(path)) / 1e6))
    }
}

/// Sessions finished so far, read by the reader task.
final class ManagedCounter: Sendable {
    private let count = Mutex<Int>(0)
    var value: Int { count.withLock { $0 } }
    func increment() -> Int {
        count.withLock {
            $0 += 1
            return $0
        }
    }
}
