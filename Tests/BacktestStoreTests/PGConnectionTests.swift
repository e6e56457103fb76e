import Foundation
import Testing

@testable import BacktestStore

/// The PG-wire layer (libpq) against a real PostgreSQL that tools/test.sh starts on
/// 127.0.0.1 and names in BACKTEST_TEST_PG.
let postgresTestURL = ProcessInfo.processInfo.environment["BACKTEST_TEST_PG"]

/// Hands a connection to a thread of its own (the test owns it; one user at a time).
final class PGConnectionBox: @unchecked Sendable {
    let connection: PGConnection
    init(_ connection: PGConnection) { self.connection = connection }
}

@Suite(
    .enabled(
        if: postgresTestURL != nil,
        "BACKTEST_TEST_PG is unset: PG-wire tests skipped (tools/test.sh starts a PostgreSQL and sets it)"))
struct PGConnectionTests {
    static var url: String? { postgresTestURL }

    func connect() throws -> PGConnection { try PGConnection(url: Self.url!) }

    @Test func typedValuesInBinaryFormat() throws {
        let db = try connect()
        let r = try db.query(
            """
            SELECT 42::int8 AS a, -7::int4 AS b, 3::int2 AS c, 1.5::float8 AS d, 'NaN'::float8 AS e, true AS f, 'héllo'::text AS g,
                   '2024-01-02 09:30:00.000001'::timestamp AS h, '\\x00ff10'::bytea AS i, NULL::int8 AS j, 2.5::float4 AS k,
                   '1969-12-31 23:59:59.5+00'::timestamptz AS l
            """)
        #expect(r.columns == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"])
        let row = try #require(r.rows.first)
        #expect(row[0] == .int(42))
        #expect(row[1] == .int(-7))
        #expect(row[2] == .int(3))
        #expect(row[3] == .double(1.5))
        #expect(row[4].double?.isNaN == true)
        #expect(row[5] == .bool(true))
        #expect(row[6] == .text("héllo"))
        #expect(row[7] == .timestampMicros(1_704_187_800_000_001))
        #expect(row[8] == .bytes([0, 255, 16]))
        #expect(row[9] == .null)
        #expect(row[10] == .double(2.5))
        #expect(row[11] == .timestampMicros(-500_000))
    }

    @Test func boundParametersAreNeverSQL() throws {
        let db = try connect()
        let table = "pg_params_\(UInt32.random(in: 0...UInt32.max))"
        try db.query(
            "CREATE TEMP TABLE \(table) (id int8 PRIMARY KEY, name text, price float8, at timestamp, raw bytea)")
        let nasty = SQLiteInjectionTests.nasty.filter { !$0.contains("\u{0}") }  // PostgreSQL text cannot hold NUL
        for (i, text) in nasty.enumerated() {
            let r = try db.query(
                "INSERT INTO \(table) VALUES ($1, $2, $3, $4, $5)",
                [
                    .int(Int64(i)), .text(text), .double(i == 0 ? .nan : Double(i) / 3),
                    .timestampMicros(1_700_000_000_123_456 + Int64(i)),
                    .bytes(Array(text.utf8) + [0, 1, 2]),
                ])
            #expect(r.affectedRows == 1)
        }
        let rows = try db.query("SELECT id, name, price, at, raw FROM \(table) WHERE id >= $1 ORDER BY id", [.int(0)])
            .rows
        #expect(rows.count == nasty.count)
        for (i, row) in rows.enumerated() {
            #expect(row[1] == .text(nasty[i]))
            #expect(i == 0 ? row[2].double!.isNaN : row[2] == .double(Double(i) / 3))
            #expect(row[3] == .timestampMicros(1_700_000_000_123_456 + Int64(i)))
            #expect(row[4] == .bytes(Array(nasty[i].utf8) + [0, 1, 2]))
        }
        // A parameter is a value, never SQL: a "DROP TABLE" in it is just text.
        let echo = try db.query("SELECT $1::text, $2::int8 IS NULL", [.text("x'); DROP TABLE \(table); --"), .null])
        #expect(echo.rows[0] == [.text("x'); DROP TABLE \(table); --"), .bool(true)])
        #expect(try db.query("SELECT count(*) FROM \(table)").rows[0][0] == .int(Int64(nasty.count)))
    }

    @Test func keysetBatches() throws {
        let db = try connect()
        try db.query("CREATE TEMP TABLE batches AS SELECT g AS ts, g * 0.5 AS price FROM generate_series(1, 10000) g")
        var last: Int64 = 0
        var total = 0
        var pages = 0
        while true {
            let page = try db.query(
                "SELECT ts, price FROM batches WHERE ts > $1 ORDER BY ts LIMIT $2", [.int(last), .int(999)]
            ).rows
            if page.isEmpty { break }
            #expect(page.count <= 999)
            for row in page {
                #expect(row[0].int == last + 1)
                last = row[0].int!
            }
            total += page.count
            pages += 1
        }
        #expect(total == 10_000)
        #expect(pages == 11)
    }

    @Test func serverErrorsCarrySQLStateAndKeepTheConnection() throws {
        let db = try connect()
        func serverError(_ sql: String, _ parameters: [PGParameter] = []) -> PGServerError? {
            do {
                try db.query(sql, parameters)
                return nil
            } catch {
                return error as? PGServerError
            }
        }
        let syntax = serverError("SELEC 1")
        #expect(syntax?.sqlState == "42601")
        #expect(syntax?.message.contains("syntax error") == true)
        #expect(serverError("SELECT 1 / 0")?.sqlState == "22012")
        #expect(serverError("SELECT * FROM no_such_table")?.sqlState == "42P01")
        #expect(serverError("SELECT $1::int8", [.text("not a number")])?.sqlState == "22P02")
        try db.query("CREATE TEMP TABLE uniq (k int PRIMARY KEY)")
        try db.query("INSERT INTO uniq VALUES (1)")
        let duplicate = serverError("INSERT INTO uniq VALUES ($1)", [.int(1)])
        #expect(duplicate?.sqlState == "23505")
        #expect(duplicate?.detail.contains("already exists") == true)
        #expect(db.isConnected)
        #expect(try db.query("SELECT 1").rows == [[.int(1)]])
    }

    @Test func wrongPasswordAndUnreachableServer() throws {
        let url = Self.url!
        let wrong = url.replacingOccurrences(
            of: #"(://[^:]+:)[^@]+@"#, with: "$1definitely-wrong@", options: .regularExpression)
        #expect(wrong != url)
        do {
            _ = try PGConnection(url: wrong)
            Issue.record("connected with a wrong password")
        } catch {
            guard case .unavailable(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.contains("password authentication failed"), "\(message)")
            #expect(!message.contains("definitely-wrong"), "the password leaked into \(message)")
        }
        // A port nobody listens on.
        let closed = url.replacingOccurrences(
            of: #"@127\.0\.0\.1:\d+"#, with: "@127.0.0.1:1", options: .regularExpression)
        #expect(throws: StoreError.self) { try PGConnection(url: closed, connectTimeoutSeconds: 2) }
    }

    @Test func terminatedBackendIsUnavailable() throws {
        let victim = try connect()
        let killer = try connect()
        let pid = victim.backendPID
        #expect(pid > 0)
        #expect(try killer.query("SELECT pg_terminate_backend($1::int4)", [.int(Int64(pid))]).rows == [[.bool(true)]])
        Thread.sleep(forTimeInterval: 0.1)
        do {
            try victim.query("SELECT 1")
            Issue.record("a terminated connection answered")
        } catch let error as StoreError {
            guard case .unavailable = error else {
                Issue.record("\(error)")
                return
            }
        }
        #expect(!victim.isConnected)
        // And it stays unavailable (no crash on reuse).
        #expect(throws: StoreError.self) { try victim.query("SELECT 1") }
    }

    @Test func connectionDroppedMidRead() async throws {
        let victim = PGConnectionBox(try connect())
        let killer = try connect()
        let pid = victim.connection.backendPID
        // The victim is inside a long statement (a read that streams for seconds) when
        // its backend is terminated.
        let outcome: String = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                do {
                    try victim.connection.query("SELECT count(*) FROM generate_series(1, 100000000) g, pg_sleep(0) s")
                    continuation.resume(returning: "finished")
                } catch let error as StoreError {
                    if case .unavailable = error {
                        continuation.resume(returning: "unavailable")
                    } else {
                        continuation.resume(returning: "\(error)")
                    }
                } catch {
                    continuation.resume(returning: "\(error)")
                }
            }
            Thread.sleep(forTimeInterval: 0.3)
            _ = try? killer.query("SELECT pg_terminate_backend($1::int4)", [.int(Int64(pid))])
        }
        #expect(outcome == "unavailable")
    }
}
