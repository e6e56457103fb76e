import BacktestEngine

/// Schema version 1 -> 2: trades move from one row each (backtest_trades) into
/// TradeChunk rows (backtest_trade_chunks), and every equity chunk is re-encoded from
/// the plain layout (ColumnChunk, 40 bytes a point) into EquityChunk (~8-9 bytes).
/// Runs inside the migration's transaction: a failure leaves version 1 untouched.
enum SQLiteMigrationV2 {
    static let tradeChunksDDL = """
        CREATE TABLE backtest_trade_chunks (
            session_id TEXT NOT NULL,
            first_number INTEGER NOT NULL,
            last_number INTEGER NOT NULL,
            count INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (session_id, first_number)
        );
        """

    static func run(_ db: SQLiteConnection) throws(StoreError) {
        try db.execute(tradeChunksDDL)
        try convertTrades(db)
        try db.execute("DROP TABLE backtest_trades")
        try convertEquity(db)
    }

    private static func convertTrades(_ db: SQLiteConnection) throws(StoreError) {
        let rows = try db.prepare(
            """
            SELECT session_id, trade_number, side, quantity, entry_time, exit_time, entry_price, exit_price, pnl, \
            return_pct, commission, entry_rule, exit_rule, entry_index, exit_index FROM backtest_trades \
            ORDER BY session_id, trade_number
            """)
        var session = ""
        var trades: [TradeRecord] = []
        func flush() throws(StoreError) {
            guard !trades.isEmpty else { return }
            try SQLiteStore.insertTradeChunks(db, sessionId: session, SQLiteStore.tradeChunks(trades[...]))
            trades.removeAll(keepingCapacity: true)
        }
        while try rows.step() {
            let id = rows.text(0)
            if id != session || trades.count == TradeChunk.capacity {
                try flush()
                session = id
            }
            guard let side = PositionSide(rawValue: rows.text(2)) else {
                throw StoreError.failed(
                    "migration: trade \(rows.int64(1)) of session \(id) has unknown side \"\(rows.text(2))\"")
            }
            // Version 1 kept NaN as NULL; it comes back as NaN, as version 1 read it.
            trades.append(
                TradeRecord(
                    number: Int(rows.int64(1)), side: side, quantity: rows.double(3), entryTime: rows.int64(4),
                    exitTime: rows.optionalInt64(5), entryPrice: rows.double(6), exitPrice: rows.double(7),
                    pnl: rows.double(8),
                    returnPct: rows.double(9), commission: rows.double(10), entryRule: rows.text(11),
                    exitRule: rows.text(12),
                    entryIndex: Int(rows.int64(13)), exitIndex: rows.optionalInt64(14).map { Int($0) }))
        }
        rows.reset()
        try flush()
    }

    private static func convertEquity(_ db: SQLiteConnection) throws(StoreError) {
        // Keys first: rows are rewritten one by one, never while a scan of the table is open.
        let keys = try db.prepare("SELECT rowid, session_id FROM backtest_equity_curve ORDER BY session_id, chunk_no")
        var chunks: [(rowid: Int64, session: String)] = []
        while try keys.step() { chunks.append((keys.int64(0), keys.text(1))) }
        keys.reset()
        let read = try db.prepare("SELECT count, data FROM backtest_equity_curve WHERE rowid = ?")
        let write = try db.prepare("UPDATE backtest_equity_curve SET data = ? WHERE rowid = ?")
        var session = ""
        var peak: Double?
        for chunk in chunks {
            if chunk.session != session {
                session = chunk.session
                peak = nil
            }
            read.reset()
            read.bind(1, chunk.rowid)
            guard try read.step() else { continue }
            let count = Int(read.int64(0))
            var points: [EquitySample] = []
            try read.withBlob(1) { blob throws(StoreError) in try EquityChunk.decode(blob, count: count, into: &points)
            }
            read.reset()
            let encoded = EquityChunk.encode(points[...], peakHint: peak)
            peak = encoded.peak
            write.reset()
            write.bind(1, blob: encoded.data)
            write.bind(2, chunk.rowid)
            try write.run()
        }
    }
}
