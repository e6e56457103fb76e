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
    /// Running equity peak after each session's last append (EquityChunk's drawdown hint).
    private let equityPeaks = Mutex<[String: Double]>([:])
    /// Whether the database gives free pages back (`auto_vacuum = INCREMENTAL`).
    let incrementalVacuum: Bool

    /// Opens (creating it and its directory if needed) and migrates the database.
    public convenience init(path: String, readerCount: Int = 2) throws {
        try self.init(path: path, readerCount: readerCount, checkpointPolicy: SQLiteCheckpointer.Policy())
    }

    /// `checkpointPolicy`: tests bound the WAL at a few MiB instead of tens.
    init(path: String, readerCount: Int = 2, checkpointPolicy: SQLiteCheckpointer.Policy) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let checkpointer = try SQLiteCheckpointer(path: path, policy: checkpointPolicy)
        self.checkpointer = checkpointer
        var vacuumMode: Int64 = 0
        writer = try SQLiteExecutor(path: path, label: "sqlite-writer") { db throws(StoreError) in
            try db.execute(SQLiteSchema.connectionPragmas)
            try SQLiteSchema.migrate(db)
            try checkpointer.watch(db)
            let mode = try db.prepare("PRAGMA auto_vacuum")
            _ = try mode.step()
            vacuumMode = mode.int64(0)
            mode.reset()
        }
        incrementalVacuum = vacuumMode == 2
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

    /// A deleted session's equity peak is no longer a hint for anything.
    func forgetEquityPeaks(_ ids: [String]) {
        equityPeaks.withLock { peaks in
            for id in ids { peaks[id] = nil }
        }
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
        try await writer.run { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let s = try db.prepare(
                    "INSERT OR REPLACE INTO backtest_sessions (\(Self.sessionColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                )
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
                let label = try db.prepare(
                    "INSERT INTO backtest_session_labels (session_id, key, value) VALUES (?, ?, ?)")
                for (key, value) in record.labels {
                    label.reset()
                    label.bind(1, record.id)
                    label.bind(2, key)
                    label.bind(3, value)
                    try label.run()
                }
            }
        }
        await checkpointer.throttle()
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
            let s = try db.prepare(
                "SELECT \(Self.sessionColumns) FROM backtest_sessions WHERE client_request_id = ? AND client_request_id <> '' ORDER BY created_at DESC, id DESC LIMIT 1"
            )
            s.bind(1, clientRequestId)
            return try s.step() ? try Self.readSession(s) : nil
        }
    }

    public func sessions(in states: Set<SessionState>) async throws -> [SessionRecord] {
        guard !states.isEmpty else { return [] }
        let stateList = states.map(\.rawValue).sorted()
        return try await reader().run { db throws(StoreError) in
            let marks = Array(repeating: "?", count: stateList.count).joined(separator: ", ")
            let s = try db.prepare(
                "SELECT \(Self.sessionColumns) FROM backtest_sessions WHERE state IN (\(marks)) ORDER BY created_at, id"
            )
            for (i, state) in stateList.enumerated() { s.bind(Int32(i + 1), state) }
            var out: [SessionRecord] = []
            while try s.step() { out.append(try Self.readSession(s)) }
            return out
        }
    }

    public func listSessions(_ query: SessionQuery) async throws -> SessionPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        let filterHash = PageToken.filterHash(query)
        let after =
            query.pageToken.isEmpty ? nil : try PageToken(decoding: query.pageToken, expectedFilterHash: filterHash)
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
            conditions.append(
                "EXISTS (SELECT 1 FROM backtest_session_labels l WHERE l.session_id = backtest_sessions.id AND l.key = ? AND l.value = ?)"
            )
            binds += [.text(key), .text(value)]
        }
        let (page, next) = try await newestFirstPage(
            table: "backtest_sessions", columns: Self.sessionColumns, conditions: conditions, binds: binds,
            after: after, pageSize: pageSize, filterHash: filterHash, read: Self.readSession
        ) { ($0.createdAt, $0.id) }
        return SessionPage(sessions: page, nextPageToken: next)
    }

    /// One page of a listing newest first (created_at DESC, id DESC) after the token's
    /// key, and the token of the next (empty at the end): ListSessions' and ListSweeps'
    /// shape. `conditions` and `binds` are the listing's filters.
    func newestFirstPage<Record: Sendable>(
        table: String, columns: String, conditions: [String], binds: [SQLArgument], after: PageToken?,
        pageSize: Int, filterHash: UInt64,
        read: @escaping @Sendable (SQLiteStatement) throws(StoreError) -> Record,
        key: (Record) -> (createdAt: Int64, id: String)
    ) async throws -> ([Record], String) {
        var conditions = conditions
        var binds = binds
        if let after {
            conditions.append("(created_at < ? OR (created_at = ? AND id < ?))")
            binds += [.int(after.createdAt), .int(after.createdAt), .text(after.id)]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(columns) FROM \(table) \(whereClause) ORDER BY created_at DESC, id DESC LIMIT ?"
        binds.append(.int(Int64(pageSize + 1)))
        let arguments = binds
        let rows = try await reader().run { db throws(StoreError) in
            let s = try db.prepare(sql)
            s.bind(arguments)
            var out: [Record] = []
            while try s.step() { out.append(try read(s)) }
            return out
        }
        guard rows.count > pageSize else { return (rows, "") }
        let page = Array(rows.prefix(pageSize))
        let last = key(page[page.count - 1])
        return (page, PageToken(createdAt: last.createdAt, id: last.id, filterHash: filterHash).encoded())
    }

    // MARK: Trades

    /// Trades are stored in chunks (TradeChunk) with disjoint, ordered number ranges.
    /// An append of numbers above every stored one (what a run does) only inserts
    /// chunks; a number already stored is replaced by rewriting the chunks its range
    /// overlaps (INSERT OR REPLACE semantics, a rare path).
    public func appendTrades(sessionId: String, _ trades: [TradeRecord]) async throws {
        guard !trades.isEmpty else { return }
        // Sorting and encoding happen on the caller's task; the writer queue copies blobs in.
        let incoming = TradeChunk.normalized(trades)
        let encoded = Self.tradeChunks(incoming[...])
        try await writer.run { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let top = try db.prepare(
                    "SELECT last_number FROM backtest_trade_chunks WHERE session_id = ? ORDER BY first_number DESC LIMIT 1"
                )
                top.bind(1, sessionId)
                let storedLast: Int64? = try top.step() ? top.int64(0) : nil
                top.reset()
                if let storedLast, Int64(incoming[0].number) <= storedLast {
                    try Self.replaceTrades(db, sessionId: sessionId, incoming)
                } else {
                    try Self.insertTradeChunks(db, sessionId: sessionId, encoded)
                }
            }
        }
        await checkpointer.throttle()
    }

    typealias EncodedTradeChunk = (first: Int64, last: Int64, count: Int, data: [UInt8])

    static func tradeChunks(_ sorted: ArraySlice<TradeRecord>) -> [EncodedTradeChunk] {
        var out: [EncodedTradeChunk] = []
        var start = sorted.startIndex
        while start < sorted.endIndex {
            let end = min(start + TradeChunk.capacity, sorted.endIndex)
            let slice = sorted[start..<end]
            out.append((Int64(slice.first!.number), Int64(slice.last!.number), slice.count, TradeChunk.encode(slice)))
            start = end
        }
        return out
    }

    static func insertTradeChunks(_ db: SQLiteConnection, sessionId: String, _ chunks: [EncodedTradeChunk])
        throws(StoreError)
    {
        let insert = try db.prepare(
            "INSERT INTO backtest_trade_chunks (session_id, first_number, last_number, count, data) VALUES (?, ?, ?, ?, ?)"
        )
        for chunk in chunks {
            insert.reset()
            insert.bind(1, sessionId)
            insert.bind(2, chunk.first)
            insert.bind(3, chunk.last)
            insert.bind(4, chunk.count)
            insert.bind(5, blob: chunk.data)
            try insert.run()
        }
    }

    /// The slow path: the stored chunks whose number range overlaps the incoming one are
    /// decoded, merged with the incoming trades (which win on equal numbers), deleted and
    /// written again. Chunks outside the range stay disjoint from the rewritten ones.
    private static func replaceTrades(_ db: SQLiteConnection, sessionId: String, _ incoming: [TradeRecord])
        throws(StoreError)
    {
        let low = Int64(incoming[0].number), high = Int64(incoming[incoming.count - 1].number)
        let overlapping = try db.prepare(
            "SELECT count, data FROM backtest_trade_chunks WHERE session_id = ? AND last_number >= ? AND first_number <= ? ORDER BY first_number"
        )
        overlapping.bind(1, sessionId)
        overlapping.bind(2, low)
        overlapping.bind(3, high)
        var stored: [TradeRecord] = []
        while try overlapping.step() {
            let count = Int(overlapping.int64(0))
            try overlapping.withBlob(1) { blob throws(StoreError) in
                try TradeChunk.decode(blob, count: count, into: &stored)
            }
        }
        overlapping.reset()
        let delete = try db.prepare(
            "DELETE FROM backtest_trade_chunks WHERE session_id = ? AND last_number >= ? AND first_number <= ?")
        delete.bind(1, sessionId)
        delete.bind(2, low)
        delete.bind(3, high)
        try delete.run()
        var merged: [TradeRecord] = []
        merged.reserveCapacity(stored.count + incoming.count)
        var i = 0, j = 0
        while i < stored.count || j < incoming.count {
            if j == incoming.count || (i < stored.count && stored[i].number < incoming[j].number) {
                merged.append(stored[i])
                i += 1
            } else {
                if i < stored.count && stored[i].number == incoming[j].number { i += 1 }
                merged.append(incoming[j])
                j += 1
            }
        }
        try insertTradeChunks(db, sessionId: sessionId, tradeChunks(merged[...]))
    }

    public func trades(sessionId: String, batchSize: Int) async throws -> any RowCursor<TradeRecord> {
        let limit = max(1, batchSize)
        // The last number decoded (returned or pending) and the decoded rows not yet returned.
        var lastNumber = Int64.min
        var pending: [TradeRecord] = []
        var exhausted = false
        return BatchCursor { [self] in
            while pending.count < limit && !exhausted {
                let after = lastNumber
                let need = limit - pending.count
                let (rows, more) = try await reader().run { db throws(StoreError) in
                    // Whole chunks from the one holding the first number after `after`.
                    let s = try db.prepare(
                        """
                        SELECT count, data FROM backtest_trade_chunks WHERE session_id = ? AND first_number >=                         coalesce((SELECT max(first_number) FROM backtest_trade_chunks WHERE session_id = ? AND first_number <= ?), ?)                         ORDER BY first_number
                        """)
                    s.bind(1, sessionId)
                    s.bind(2, sessionId)
                    s.bind(3, after)
                    s.bind(4, Int64.min)
                    var out: [TradeRecord] = []
                    while out.count < need, try s.step() {
                        let count = Int(s.int64(0))
                        try s.withBlob(1) { blob throws(StoreError) in
                            try TradeChunk.decode(blob, count: count, into: &out, after: after)
                        }
                    }
                    let more = out.count >= need
                    s.reset()
                    return (out, more)
                }
                pending += rows
                if let last = rows.last { lastNumber = Int64(last.number) }
                exhausted = !more
            }
            let batch = Array(pending.prefix(limit))
            pending.removeFirst(batch.count)
            return batch
        }
    }

    // MARK: Equity curve

    /// SQLite commits are all-or-nothing and never lose their answer, so an append is
    /// never retried after it landed: the index is not needed to stay idempotent.
    public func appendEquity(sessionId: String, startingAt index: UInt64, _ points: [EquitySample]) async throws {
        try await appendEquity(sessionId: sessionId, points)
    }

    public func appendEquity(sessionId: String, _ points: [EquitySample]) async throws {
        guard !points.isEmpty else { return }
        // Encoding happens on the caller's task; the writer queue only copies blobs in.
        // The running equity peak of the session's last append makes the drawdown of the
        // next chunk predictable (a hint only: a wrong one costs bytes, never exactness).
        var peak = equityPeaks.withLock { $0[sessionId] }
        var chunks: [(first: Int64, last: Int64, count: Int, data: [UInt8])] = []
        var start = 0
        while start < points.count {
            let end = min(start + EquityChunk.capacity, points.count)
            let slice = points[start..<end]
            var first = slice[start].time, last = first
            for p in slice {
                first = min(first, p.time)
                last = max(last, p.time)
            }
            let encoded = EquityChunk.encode(slice, peakHint: peak)
            peak = encoded.peak
            chunks.append((first, last, slice.count, encoded.data))
            start = end
        }
        let endPeak = peak
        equityPeaks.withLock { peaks in
            if peaks.count >= 4096 && peaks[sessionId] == nil { peaks.removeAll(keepingCapacity: true) }
            peaks[sessionId] = endPeak
        }
        let encoded = chunks
        try await writer.run { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                let next = try db.prepare(
                    "SELECT coalesce(max(chunk_no), -1) + 1 FROM backtest_equity_curve WHERE session_id = ?")
                next.bind(1, sessionId)
                _ = try next.step()
                var chunkNo = next.int64(0)
                next.reset()
                let insert = try db.prepare(
                    "INSERT INTO backtest_equity_curve (session_id, chunk_no, first_time, last_time, count, data) VALUES (?, ?, ?, ?, ?, ?)"
                )
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
        await checkpointer.throttle()
    }

    /// Bytes of the stored equity chunks of a session (store-bench reports bytes per point).
    public func equityBytes(sessionId: String) async throws -> Int {
        try await reader().run { db throws(StoreError) in
            let s = try db.prepare(
                "SELECT coalesce(sum(length(data)), 0) FROM backtest_equity_curve WHERE session_id = ?")
            s.bind(1, sessionId)
            _ = try s.step()
            return Int(s.int64(0))
        }
    }

    public func equity(sessionId: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<EquitySample>
    {
        let limit = max(1, batchSize)
        var lastChunk = Int64.min
        var pending: [EquitySample] = []
        var exhausted = false
        return BatchCursor { [self] in
            while pending.count < limit && !exhausted {
                let after = lastChunk
                let need = limit - pending.count
                let (rows, last, more) = try await reader().run { db throws(StoreError) in
                    let s = try db.prepare(
                        """
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
                        try s.withBlob(2) { blob throws(StoreError) in
                            try EquityChunk.decode(blob, count: count, into: &out, keep: range)
                        }
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
