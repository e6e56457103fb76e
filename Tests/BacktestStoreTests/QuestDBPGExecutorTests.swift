import Foundation
import Testing

@testable import BacktestStore

/// QuestDBStore's connection executor (a libpq connection on its own serial queue,
/// reopened after a loss) against the real PostgreSQL of tools/test.sh. Only the
/// executor is PostgreSQL-neutral; QuestDB's SQL is tested in QuestDBStoreTests.
@Suite(
    .enabled(
        if: postgresTestURL != nil,
        "BACKTEST_TEST_PG is unset: PG executor tests skipped (tools/test.sh starts a PostgreSQL and sets it)"))
struct QuestDBPGExecutorTests {
    @Test func concurrentCallersAndAReconnectAfterTheBackendIsKilled() async throws {
        let executor = PGExecutor(url: postgresTestURL!, label: "test-pg-executor")
        // Many tasks at once: the queue serializes them on one connection.
        let sums = try await withThrowingTaskGroup(of: Int64.self) { group in
            for i in 0..<32 {
                group.addTask {
                    try await executor.run { db in try db.query("SELECT $1::int8 + 1", [.int(Int64(i))]).rows[0][0].int!
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(sums == (0..<32).reduce(0) { $0 + Int64($1) + 1 })
        let pid = try await executor.run { db in db.backendPID }
        let killer = try PGConnection(url: postgresTestURL!)
        _ = try killer.query("SELECT pg_terminate_backend($1::int4)", [.int(Int64(pid))])
        // The next call finds the connection gone, reopens it and runs.
        let again = try await executor.run { db in (db.backendPID, try db.query("SELECT 7::int8").rows[0][0]) }
        #expect(again.1 == .int(7))
        #expect(again.0 != pid)
        // Server-side errors are StoreError.failed with the server's message.
        await #expect(throws: StoreError.self) {
            try await executor.run { db in try db.query("SELECT * FROM no_such_table_here") }
        }
        await executor.close()
        await #expect(throws: StoreError.unavailable("QuestDB store is closed")) { try await executor.run { _ in 1 } }
    }
}
