import BacktestEngine
import Foundation
import Synchronization

/// The embedded store: one SQLite file in WAL mode. One writer connection (SQLite
/// allows one writer at a time anyway) and a few reader connections, each on its own
/// serial queue; WAL lets readers run while the writer commits, so a long candle read
/// never blocks result writes. Every statement takes bound parameters only.
public final class SQLiteStore: BacktestStore {
    public let path: String
    let writer: SQLiteExecutor
    private let readers: [SQLiteExecutor]
    private let nextReader = Atomic<Int>(0)
    let checkpointer: SQLiteCheckpointer

    /// Opens (creating it and its directory if needed) and migrates the database.
    public init(path: String, readerCount: Int = 2) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        writer = try SQLiteExecutor(path: path, label: "sqlite-writer") { db throws(StoreError) in
            try db.execute(SQLiteSchema.connectionPragmas)
            try SQLiteSchema.migrate(db)
        }
        checkpointer = try SQLiteCheckpointer(path: path)
        readers = try (0..<max(1, readerCount)).map { i throws(StoreError) in
            try SQLiteExecutor(path: path, label: "sqlite-reader-\(i)") { db throws(StoreError) in
                try db.execute(SQLiteSchema.connectionPragmas)
            }
        }
    }

    /// A reader connection, round robin.
    func reader() -> SQLiteExecutor {
        readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
    }

    public func close() async {
        await writer.close()
        for reader in readers { await reader.close() }
        await checkpointer.close()
    }

    // MARK: Sessions

    private static let sessionColumns = """
        id, state, symbol, timeframe, range_start, range_end, strategy_name, acceleration_factor, request, \
        client_request_id, labels, progress_pct, sim_time, events_processed, final_pnl, total_trades, \
        win_rate_pct, statistics, created_at, started_at, completed_at, error_message, stop_reason
        """

    public func saveSession(_ record: SessionRecord) async throws {
        let labels = try SessionJSON.encode(record.labels)
        let statistics = try record.statistics.map { s throws(StoreError) in try SessionJSON.encode(s) }
        try await writer.run { db throws(StoreError) in try db.transaction { () throws(StoreError) in
            let s = try db.prepare("INSERT OR REPLACE INTO backtest_sessions (\(Self.sessionColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
            s.bind(1, record.id)
            s.bind(2, record.state.rawValue)
            s.bind(3, record.symbol)
            s.bind(4, record.timeframe)
            s.bind(5, record.range.start)
            s.bind(6, record.range.end)
            s.bind(7, record.strategyName)
            s.bind(8, record.accelerationFactor)
            s.bind(9, blob: record.request)
            s.bind(10, record.clientRequestId)
            s.bind(11, labels)
            s.bind(12, record.progressPct)
            s.bind(13, record.simTime)
            s.bind(14, Int64(bitPattern: record.eventsProcessed))
            s.bind(15, record.finalPnl)
            s.bind(16, Int64(bitPattern: record.totalTrades))
            s.bind(17, record.winRatePct)
            if let statistics { s.bind(18, statistics) } else { s.bindNull(18) }
            s.bind(19, record.createdAt)
            s.bind(20, record.startedAt)
            s.bind(21, record.completedAt)
            s.bind(22, record.errorMessage)
            s.bind(23, record.stopReason)
            try s.run()
            let clear = try db.prepare("DELETE FROM backtest_session_labels WHERE session_id = ?")
            clear.bind(1, record.id)
            try clear.run()
            let label = try db.prepare("INSERT INTO backtest_session_labels (session_id, key, value) VALUES (?, ?, ?)")
            for (key, value) in record.labels {
                label.reset()
                label.bind(1, record.id)
                label.bind(2, key)
                label.bind(3, value)
                try label.run()
            }
        } }
        checkpointer.wrote(1024 + record.request.count)
    }

    private static func readSession(_ s: SQLiteStatement) throws(StoreError) -> SessionRecord {
        guard let state = SessionState(rawValue: s.text(1)) else {
            throw StoreError.failed("session \(s.text(0)) has unknown state \"\(s.text(1))\"")
        }
        return SessionRecord(
            id: s.text(0), state: state, symbol: s.text(2), timeframe: s.text(3),
            range: TimeRange(start: s.int64(4), end: s.int64(5)), strategyName: s.text(6),
            accelerationFactor: s.double(7), request: s.blob(8), clientRequestId: s.text(9),
            labels: try SessionJSON.decodeLabels(s.text(10)), progressPct: s.double(11), simTime: s.optionalInt64(12),
            eventsProcessed: UInt64(bitPattern: s.int64(13)), finalPnl: s.double(14),
            totalTrades: UInt64(bitPattern: s.int64(15)), winRatePct: s.double(16),
            statistics: try s.isNull(17) ? nil : SessionJSON.decodeStatistics(s.text(17)),
            createdAt: s.int64(18), startedAt: s.optionalInt64(19), completedAt: s.optionalInt64(20),
            errorMessage: s.text(21), stopReason: s.text(22))
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await reader().run { db throws(StoreError) in
            let s = try db.prepare("SELECT \(Self.sessionColumns) FROM backtest_sessions WHERE id = ?")
            s.bind(1, id)
            return try s.step() ? try Self.readSession(s) : nil
        }
    }

    public func session(clientRequestId: String) async throws -> SessionRecord? {
        guard !clientRequestId.isEmpty else { return nil }
        return try await reader().run { db throws(StoreError) in
            let s = try db.prepare("SELECT \(Self.sessionColumns) FROM backtest_sessions WHERE client_request_id = ? AND client_request_id <> '' ORDER BY created_at DESC, id DESC LIMIT 1")
            s.bind(1, clientRequestId)
            return try s.step() ? try Self.readSession(s) : nil
        }
    }

    public func sessions(in states: Set<SessionState>) async throws -> [SessionRecord] {
        guard !states.isEmpty else { return [] }
        let stateList = states.map(\.rawValue).sorted()
        return try await reader().run { db throws(StoreError) in
            let marks = Array(repeating: "?", count: stateList.count).joined(separator: ", ")
            let s = try db.prepare("SELECT \(Self.sessionColumns) FROM backtest_sessions WHERE state IN (\(marks)) ORDER BY created_at, id")
            for (i, state) in stateList.enumerated() { s.bind(Int32(i + 1), state) }
            var out: [SessionRecord] = []
            while try s.step() { out.append(try Self.readSession(s)) }
            return out
        }
    }

    public func listSessions(_ query: SessionQuery) async throws -> SessionPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        let filterHash = PageToken.filterHash(query)
        let after = query.pageToken.isEmpty ? nil : try PageToken(decoding: query.pageToken, expectedFilterHash: filterHash)
        // The SQL's shape depends on which filters are set; every value is a parameter.
        var conditions: [String] = []
        var binds: [SQLArgument] = []
        if !query.states.isEmpty {
            let states = query.states.map(\.rawValue).sorted()
            conditions.append("state IN (\(Array(repeating: "?", count: states.count).joined(separator: ", ")))")
            binds += states.map { .text($0) }
        }
        if !query.symbol.isEmpty {
            conditions.append("symbol = ?")
            binds.append(.text(query.symbol))
        }
        if let createdAfter = query.createdAfter {
            conditions.append("created_at >= ?")
            binds.append(.int(createdAfter))
        }
        if let createdBefore = query.createdBefore {
            conditions.append("created_at < ?")
            binds.append(.int(createdBefore))
        }
        for (key, value) in query.labels.sorted(by: { $0.key < $1.key }) {
            conditions.append("EXISTS (SELECT 1 FROM backtest_session_labels l WHERE l.session_id = backtest_sessions.id AND l.key = ? AND l.value = ?)")
            binds += [.text(key), .text(value)]
        }
        if let after {
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            binds += [.int(after.createdAt), .int(after.createdAt), .text(after.id)]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(Self.sessionColumns) FROM backtest_sessions \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?"
        binds.append(.int(Int64(pageSize + 1)))
        let arguments = binds
        let rows = try await reader().run { db throws(StoreError) in
            let s = try db.prepare(sql)
            s.bind(arguments)
            var out: [SessionRecord] = []
            while try s.step() { out.append(try Self.readSession(s)) }
            return out
        }
        guard rows.count > pageSize else { return SessionPage(sessions: rows, nextPageToken: "") }
        let page = Array(rows.prefix(pageSize))
        let last = page[page.count - 1]
        return SessionPage(sessions: page, nextPageToken: PageToken(createdAt: last.createdAt, id: last.id, filterHash: filterHash).encoded())
    }

    // MARK: Trades

    public func appendTrades(sessionId: String, _ trades: [TradeRecord]) async throws {
        guard !trades.isEmpty else { return }
        try await writer.run { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let s = try db.prepare("""
                    INSERT OR REPLACE INTO backtest_trades (session_id, trade_number, side, quantity, entry_time, exit_time, \
                    entry_price, exit_price, pnl, return_pct, commission, entry_rule, exit_rule, entry_index, exit_index) \
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for t in trades {
                    s.reset()
                    s.bind(1, sessionId)
                    s.bind(2, t.number)
                    s.bind(3, t.side.rawValue)
                    s.bind(4, t.quantity)
                    s.bind(5, t.entryTime)
                    s.bind(6, t.exitTime)
                    s.bind(7, t.entryPrice)
                    s.bind(8, t.exitPrice)
                    s.bind(9, t.pnl)
                    s.bind(10, t.returnPct)
                    s.bind(11, t.commission)
                    s.bind(12, t.entryRule)
                    s.bind(13, t.exitRule)
                    s.bind(14, t.entryIndex)
                    s.bind(15, t.exitIndex.map { Int64($0) })
                    try s.run()
                }
            }
        }
        checkpointer.wrote(trades.count * 160)
    }

    public func trades(sessionId: String, batchSize: Int) async throws -> any RowCursor<TradeRecord> {
        let limit = max(1, batchSize)
        var lastNumber = Int64.min
        return BatchCursor { [self] in
            let after = lastNumber
            let rows = try await reader().run { db throws(StoreError) in
                let s = try db.prepare("""
                    SELECT trade_number, side, quantity, entry_time, exit_time, entry_price, exit_price, pnl, return_pct, \
                    commission, entry_rule, exit_rule, entry_index, exit_index FROM backtest_trades \
                    WHERE session_id = ? AND trade_number > ? ORDER BY trade_number LIMIT ?
                    """)
                s.bind(1, sessionId)
                s.bind(2, after)
                s.bind(3, limit)
                var out: [TradeRecord] = []
                while try s.step() {
                    guard let side = PositionSide(rawValue: s.text(1)) else {
                        throw StoreError.failed("trade \(s.int64(0)) of session \(sessionId) has unknown side \"\(s.text(1))\"")
                    }
                    out.append(TradeRecord(
                        number: Int(s.int64(0)), side: side, quantity: s.double(2), entryTime: s.int64(3),
                        exitTime: s.optionalInt64(4), entryPrice: s.double(5), exitPrice: s.double(6), pnl: s.double(7),
                        returnPct: s.double(8), commission: s.double(9), entryRule: s.text(10), exitRule: s.text(11),
                        entryIndex: Int(s.int64(12)), exitIndex: s.optionalInt64(13).map { Int($0) }))
                }
                return out
            }
            if let last = rows.last { lastNumber = Int64(last.number) }
            return rows
        }
    }

    // MARK: Equity curve

    public func appendEquity(sessionId: String, _ points: [EquitySample]) async throws {
        guard !points.isEmpty else { return }
        // Encoding happens on the caller's task; the writer queue only copies blobs in.
        var chunks: [(first: Int64, last: Int64, count: Int, data: [UInt8])] = []
        var start = 0
        while start < points.count {
            let end = min(start + ColumnChunk.capacity, points.count)
            let slice = points[start..<end]
            let times = slice.lazy.map(\.time)
            chunks.append((times.min()!, times.max()!, slice.count, ColumnChunk.encode(slice)))
            start = end
        }
        let encoded = chunks
        try await writer.run { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let next = try db.prepare("SELECT coalesce(max(chunk_no), -1) + 1 FROM backtest_equity_curve WHERE session_id = ?")
                next.bind(1, sessionId)
                _ = try next.step()
                var chunkNo = next.int64(0)
                next.reset()
                let insert = try db.prepare("INSERT INTO backtest_equity_curve (session_id, chunk_no, first_time, last_time, count, data) VALUES (?, ?, ?, ?, ?, ?)")
                for chunk in encoded {
                    insert.reset()
                    insert.bind(1, sessionId)
                    insert.bind(2, chunkNo)
                    insert.bind(3, chunk.first)
                    insert.bind(4, chunk.last)
                    insert.bind(5, chunk.count)
                    insert.bind(6, blob: chunk.data)
                    try insert.run()
                    chunkNo += 1
                }
            }
        }
        checkpointer.wrote(encoded.reduce(0) { $0 + $1.data.count })
    }

    public func equity(sessionId: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<EquitySample> {
        let limit = max(1, batchSize)
        var lastChunk = Int64.min
        var pending: [EquitySample] = []
        var exhausted = false
        return BatchCursor { [self] in
            while pending.count < limit && !exhausted {
                let after = lastChunk
                let need = limit - pending.count
                let (rows, last, more) = try await reader().run { db throws(StoreError) in
                    let s = try db.prepare("""
                        SELECT chunk_no, count, data FROM backtest_equity_curve \
                        WHERE session_id = ? AND chunk_no > ? AND last_time >= ? AND first_time < ? ORDER BY chunk_no
                        """)
                    s.bind(1, sessionId)
                    s.bind(2, after)
                    s.bind(3, range.start)
                    s.bind(4, range.end)
                    var out: [EquitySample] = []
                    var last = after
                    // Whole chunks until the batch is full; the statement is reset before returning.
                    while out.count < need, try s.step() {
                        last = s.int64(0)
                        let count = Int(s.int64(1))
                        try s.withBlob(2) { blob throws(StoreError) in try ColumnChunk.decode(blob, count: count, into: &out, keep: range) }
                    }
                    let more = out.count >= need
                    s.reset()
                    return (out, last, more)
                }
                pending += rows
                lastChunk = last
                exhausted = !more
            }
            let batch = Array(pending.prefix(limit))
            pending.removeFirst(batch.count)
            return batch
        }
    }
}

/// A bound value of a statement whose shape is built at run time.
enum SQLArgument: Sendable {
    case int(Int64)
    case text(String)
}

extension SQLiteStatement {
    func bind(_ arguments: [SQLArgument]) {
        for (i, argument) in arguments.enumerated() {
            switch argument {
            case .int(let v): bind(Int32(i + 1), v)
            case .text(let v): bind(Int32(i + 1), v)
            }
        }
    }
}
