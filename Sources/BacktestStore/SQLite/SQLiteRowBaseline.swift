/// The per-row alternative the chunked layout is measured against (store-bench only):
/// one row per equity point in a plain table, inserted in one transaction with a
/// cached statement, and read back with one step per row.
public enum SQLiteRowBaseline {
    /// Returns (rows inserted per second, rows read per second).
    public static func measure(path: String, rows: Int, clock: () -> Double) throws -> (insert: Double, read: Double) {
        let db = try SQLiteConnection(path: path)
        try db.execute(SQLiteSchema.connectionPragmas)
        try db.execute(
            "CREATE TABLE IF NOT EXISTS equity_rows (session_id TEXT NOT NULL, time INTEGER NOT NULL, equity REAL, cash REAL, position_size REAL, drawdown_pct REAL, PRIMARY KEY (session_id, time)) WITHOUT ROWID"
        )
        let t0 = clock()
        try db.transaction { () throws(StoreError) in
            let s = try db.prepare("INSERT INTO equity_rows VALUES (?, ?, ?, ?, ?, ?)")
            for i in 0..<rows {
                s.reset()
                s.bind(1, "baseline")
                s.bind(2, Int64(i) * 60_000_000)
                s.bind(3, 10_000 + Double(i))
                s.bind(4, 5_000.0)
                s.bind(5, 1.0)
                s.bind(6, -0.5)
                try s.run()
            }
        }
        let t1 = clock()
        let s = try db.prepare(
            "SELECT time, equity, cash, position_size, drawdown_pct FROM equity_rows WHERE session_id = ? ORDER BY time"
        )
        s.bind(1, "baseline")
        var sum = 0.0
        var count = 0
        while try s.step() {
            sum += Double(s.int64(0)) + s.double(1) + s.double(2) + s.double(3) + s.double(4)
            count += 1
        }
        s.reset()
        let t2 = clock()
        precondition(count == rows && sum != 0)
        db.close()
        return (Double(rows) / (t1 - t0), Double(rows) / (t2 - t1))
    }
}
