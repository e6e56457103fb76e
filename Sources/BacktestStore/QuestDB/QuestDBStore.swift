import BacktestEngine
import Foundation
import Synchronization

/// The QuestDB store: writes as ILP over HTTP (ILPHTTPWriter: one request = one
/// transaction per table, 5xx retried, tables DEDUP so retries never duplicate),
/// DDL and reads over PG wire (libpq on serial queues, bound parameters only).
///
/// Read-after-write: writes are acknowledged before QuestDB applies its WAL; the
/// store waits inside reads (WALVisibility) until its own earlier writes are
/// applied, and an import commit waits before returning. See QuestDBSchema for the
/// tables and keys, QuestDBSQL for every query.
public final class QuestDBStore: BacktestStore {
    let writer: ILPHTTPWriter
    private let readers: [PGExecutor]
    private let nextReader = Atomic<Int>(0)
    let visibility = WALVisibility()
    let importLock = AsyncLock()
    /// An import is staged in memory and sent as ONE request at commit; beyond this many
    /// ILP bytes it fails (QuestDB's own cap is line.http.max.recv.buffer.size, 1 GiB).
    public let importByteLimit: Int
    /// How long a read waits for earlier writes to become visible.
    public let visibilityTimeout: Double
    /// Appends are sent in requests of about this many bytes.
    static let writeBatchBytes = 4 << 20

    /// `httpURL` like `http://127.0.0.1:9000`, `pgURL` like
    /// `postgresql://admin:quest@127.0.0.1:8812/qdb`. Creates the tables if missing.
    public init(httpURL: String, pgURL: String, readerCount: Int = 2, importByteLimit: Int = 256 << 20,
                visibilityTimeout: Double = 30) async throws {
        writer = try ILPHTTPWriter(baseURL: httpURL)
        let url = Self.withSSLDisabled(pgURL)
        readers = (0..<max(1, readerCount)).map { PGExecutor(url: url, label: "questdb-pg-\($0)") }
        self.importByteLimit = importByteLimit
        self.visibilityTimeout = visibilityTimeout
        try await readers[0].run { db in
            for statement in QuestDBSchema.ddl { try db.query(statement) }
        }
    }

    /// QuestDB refuses SSL; libpq's default (prefer) would ask first. Add sslmode=disable
    /// unless the URL says otherwise.
    static func withSSLDisabled(_ url: String) -> String {
        guard !url.contains("sslmode=") else { return url }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return url + (url.contains("?") ? "&" : "?") + "sslmode=disable"
        }
        return url + " sslmode=disable"
    }

    public func close() async {
        for reader in readers { await reader.close() }
    }

    // MARK: Plumbing

    private func reader() -> PGExecutor {
        readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
    }

    /// Runs one query on a reader connection and returns its rows.
    func rows(_ q: QuestDBQuery) async throws(StoreError) -> [[PGValue]] {
        try await reader().run { db in try db.query(q.sql, q.parameters).rows }
    }

    /// Sends ILP lines (of one table) and notes the write for read-after-write.
    func send(_ buffer: ILPBuffer, table: String) async throws {
        guard buffer.rowCount > 0 else { return }
        try await writer.write(buffer.bytes)
        visibility.wrote(table)
    }

    /// Waits until this store's acknowledged writes to `tables` are readable.
    func awaitVisible(_ tables: String...) async throws {
        for table in tables {
            guard let written = visibility.pending(table) else { continue }
            try await waitForWAL(table)
            visibility.confirmed(table, upTo: written)
        }
    }

    /// Polls `wal_tables()` until writerTxn reaches the sequencerTxn of the first poll.
    func waitForWAL(_ table: String) async throws {
        let deadline = Date().addingTimeInterval(visibilityTimeout)
        var target: Int64?
        var delay: UInt64 = 1_000_000
        while true {
            let found = try await rows(QuestDBSQL.walState(table: table))
            guard let row = found.first else { throw StoreError.failed("QuestDB has no WAL table \(table)") }
            let (progress, goal) = try WALVisibility.progress(row, target: target)
            target = goal
            switch progress {
            case .applied:
                return
            case .suspended(let w, let s):
                throw StoreError.failed("QuestDB table \(table) is suspended (writerTxn \(w), sequencerTxn \(s)): its writes are not applied; see ALTER TABLE \(table) RESUME WAL")
            case .pending(let w, _):
                if Date() > deadline {
                    throw StoreError.unavailable("QuestDB did not apply \(table)'s WAL within \(visibilityTimeout) s (writerTxn \(w), waiting for \(goal))")
                }
            }
            try? await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 50_000_000)
        }
    }

    // MARK: Sessions

    public func saveSession(_ record: SessionRecord) async throws {
        var buffer = ILPBuffer()
        try QuestDBRows.appendSession(record, to: &buffer)
        try await send(buffer, table: QuestDBSchema.sessions)
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await awaitVisible(QuestDBSchema.sessions)
        return try await rows(QuestDBSQL.sessionById(id)).first.map { row throws(StoreError) in try QuestDBRows.session(row) }
    }

    public func session(clientRequestId: String) async throws -> SessionRecord? {
        guard !clientRequestId.isEmpty else { return nil }
        try await awaitVisible(QuestDBSchema.sessions)
        return try await rows(QuestDBSQL.sessionByClientRequestId(clientRequestId)).first.map { row throws(StoreError) in try QuestDBRows.session(row) }
    }

    public func sessions(in states: Set<SessionState>) async throws -> [SessionRecord] {
        guard !states.isEmpty else { return [] }
        try await awaitVisible(QuestDBSchema.sessions)
        var out: [SessionRecord] = []
        var after: (createdAt: Int64, id: String)?
        let limit = 1000
        while true {
            let page = try await rows(QuestDBSQL.sessionsInStates(Array(states), after: after, limit: limit))
            for row in page { out.append(try QuestDBRows.session(row)) }
            guard page.count == limit, let last = out.last else { return out }
            after = (last.createdAt, last.id)
        }
    }

    public func listSessions(_ query: SessionQuery) async throws -> SessionPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        let filterHash = PageToken.filterHash(query)
        let token = query.pageToken.isEmpty ? nil : try PageToken(decoding: query.pageToken, expectedFilterHash: filterHash)
        try await awaitVisible(QuestDBSchema.sessions)
        // Labels are matched here, so a batch may keep fewer rows than it read: read on
        // (keyset after the last row READ) until the page plus one is found.
        let batch = query.labels.isEmpty ? pageSize + 1 : min(5000, max(256, 4 * (pageSize + 1)))
        var after = token.map { (createdAt: $0.createdAt, id: $0.id) }
        var found: [SessionRecord] = []
        scan: while true {
            let page = try await rows(QuestDBSQL.listSessions(query, after: after, limit: batch))
            for row in page {
                let record = try QuestDBRows.session(row)
                after = (record.createdAt, record.id)
                if query.labels.allSatisfy({ record.labels[$0.key] == $0.value }) {
                    found.append(record)
                    if found.count > pageSize { break scan }
                }
            }
            if page.count < batch { break }
        }
        guard found.count > pageSize else { return SessionPage(sessions: found, nextPageToken: "") }
        let sessions = Array(found.prefix(pageSize))
        let last = sessions[sessions.count - 1]
        return SessionPage(sessions: sessions, nextPageToken: PageToken(createdAt: last.createdAt, id: last.id, filterHash: filterHash).encoded())
    }

    // MARK: Results

    public func appendTrades(sessionId: String, _ trades: [TradeRecord]) async throws {
        guard !trades.isEmpty else { return }
        guard !sessionId.isEmpty else { throw StoreError.invalid("trades need a session id") }
        var buffer = ILPBuffer()
        for trade in trades {
            try QuestDBRows.appendTrade(sessionId: sessionId, trade, to: &buffer)
            if buffer.bytes.count >= Self.writeBatchBytes {
                try await send(buffer, table: QuestDBSchema.trades)
                buffer.clear()
            }
        }
        try await send(buffer, table: QuestDBSchema.trades)
    }

    public func appendEquity(sessionId: String, _ points: [EquitySample]) async throws {
        guard !points.isEmpty else { return }
        guard !sessionId.isEmpty else { throw StoreError.invalid("equity samples need a session id") }
        var buffer = ILPBuffer()
        for point in points {
            try QuestDBRows.appendEquity(sessionId: sessionId, point, to: &buffer)
            if buffer.bytes.count >= Self.writeBatchBytes {
                try await send(buffer, table: QuestDBSchema.equity)
                buffer.clear()
            }
        }
        try await send(buffer, table: QuestDBSchema.equity)
    }

    public func trades(sessionId: String, batchSize: Int) async throws -> any RowCursor<TradeRecord> {
        try await awaitVisible(QuestDBSchema.trades)
        let limit = max(1, batchSize)
        var lastNumber = Int64.min
        var exhausted = false
        return BatchCursor { [self] in
            guard !exhausted else { return nil }
            let found = try await rows(QuestDBSQL.trades(sessionId: sessionId, afterNumber: lastNumber, limit: limit))
            let batch = try found.map { row throws(StoreError) in try QuestDBRows.trade(row) }
            exhausted = batch.count < limit
            if let last = batch.last { lastNumber = Int64(last.number) }
            return batch
        }
    }

    public func equity(sessionId: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<EquitySample> {
        try await awaitVisible(QuestDBSchema.equity)
        let limit = max(1, batchSize)
        var from = range.start
        var exhausted = range.isEmpty
        return BatchCursor { [self] in
            guard !exhausted else { return nil }
            let found = try await rows(QuestDBSQL.equity(sessionId: sessionId, from: from, end: range.end, limit: limit))
            let batch = try found.map { row throws(StoreError) in try QuestDBRows.equity(row) }
            exhausted = batch.count < limit
            if let last = batch.last { from = last.time + 1 }
            return batch
        }
    }
}
