import BacktestEngine
import Foundation
import Logging
import Synchronization

/// The QuestDB store: writes as ILP over HTTP (ILPHTTPWriter, libcurl, kept-alive
/// connections; one request = one transaction per table; tables DEDUP so retries never
/// duplicate), DDL and reads over PG wire (libpq on serial queues, bound parameters only).
///
/// - Writes QuestDB cannot take now (down, restarting, an answer lost) go to a durable
///   local spool (ILPSpool) and are replayed in order once it is back: a run goes on
///   through an outage and loses nothing. Imports are not spooled: they answer the
///   caller, after idempotent retries.
/// - Read-after-write: writes are acknowledged before QuestDB applies its WAL; reads
///   (and `sync`) first wait for this store's spooled writes to be delivered, then until
///   its own acknowledged writes are applied (WALVisibility).
/// - Ownership: session rows carry `owner` (this node); start-up recovery sees only
///   its own sessions, so several backtestd can share one QuestDB.
/// See QuestDBSchema for the tables and keys, QuestDBSQL for every query.
public final class QuestDBStore: BacktestStore {
    public struct Options: Sendable {
        /// This node's name, stored with its sessions (several backtestd may share a
        /// QuestDB, each with its own name).
        public var owner: String = "backtestd"
        /// Where undeliverable writes wait for QuestDB; nil = no spool (writes fail instead).
        public var spoolDirectory: String?
        /// Spooled bytes at most; beyond, writes fail as unavailable.
        public var spoolLimit: Int64 = 8 << 30
        /// How long a write is retried before it goes to the spool (without a spool: fails).
        public var writeRetry: Double = 2
        /// How long an import's single write is retried (idempotently) before it fails.
        public var importRetry: Double = 30
        /// How long a read waits for earlier writes to be delivered and visible.
        public var visibilityTimeout: Double = 30
        public var readerCount = 2
        /// An import is staged in memory and sent as ONE request at commit; beyond this many
        /// ILP bytes it fails (QuestDB's own cap is line.http.max.recv.buffer.size, 1 GiB).
        public var importByteLimit = 256 << 20
        public var logger = Logger(label: "backtest.questdb")
        /// The wall clock, microseconds since the epoch: when sessions are deleted, and
        /// which partitions a purge may rewrite (tests move it).
        public var now: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1e6) }
        /// A partition is rewritten only once it ended this long before the oldest
        /// active session's creation (and before now): room for clock skew between
        /// nodes and for the few seconds a write key may run ahead of the clock.
        public var purgeQuietMargin: Duration = .seconds(3600)
        /// A purge lock older than this was left by a node that died mid-purge.
        public var purgeLockStaleAfter: Duration = .seconds(3600)

        public init() {}
    }

    let writer: ILPHTTPWriter
    let importWriter: ILPHTTPWriter
    private let readers: [PGExecutor]
    private let healthReader: PGExecutor
    /// The purge's own connection: its long copies never hold up a reader's queue.
    let maintenance: PGExecutor
    /// Reads wait out a partition rewrite of their table (QuestDBPurge).
    let gate = PurgeGate()
    /// One purge at a time in this process (the purge lock covers other nodes).
    let purging = AsyncLock()
    private let nextReader = Atomic<Int>(0)
    let visibility = WALVisibility()
    let importLock = AsyncLock()
    let options: Options
    let spool: ILPSpool?
    private let drainTask = Mutex<Task<Void, Never>?>(nil)
    private let closed = Atomic<Bool>(false)
    private let keys = Mutex(ResultKeys())
    /// The creation time of each sweep this process may still write rows of: the base
    /// of their write keys (QuestDBSchema). A sweep not here is looked up.
    let sweepBases = Mutex<[String: Int64]>([:])
    var importByteLimit: Int { options.importByteLimit }
    public var visibilityTimeout: Double { options.visibilityTimeout }
    public var owner: String { options.owner }
    /// Market data reads ask QuestDB for pages of at least this many rows.
    static let readPageRows = 65_536
    /// Appends are sent in requests of about this many bytes.
    static let writeBatchBytes = 4 << 20

    /// The write keys of results (QuestDBSchema): per session a base from the wall
    /// clock, never below the last key written, so sessions append after each other.
    private struct ResultKeys {
        var highWater: Int64 = 0
        var bases: [String: Int64] = [:]
    }

    /// `httpURL` like `http://127.0.0.1:9000`, `pgURL` like
    /// `postgresql://admin:quest@127.0.0.1:8812/qdb`. Creates the tables if missing and
    /// starts delivering what an earlier process left in the spool.
    public init(httpURL: String, pgURL: String, options: Options = Options()) async throws {
        guard !options.owner.isEmpty, options.owner.utf8.count <= 256 else {
            throw StoreError.invalid("the QuestDB store's owner (node id) must be 1 to 256 bytes")
        }
        self.options = options
        writer = try ILPHTTPWriter(
            baseURL: httpURL, retryTimeout: options.spoolDirectory == nil ? 10 : options.writeRetry)
        importWriter = try ILPHTTPWriter(baseURL: httpURL, retryTimeout: options.importRetry)
        let url = Self.withSSLDisabled(pgURL)
        readers = (0..<max(1, options.readerCount)).map { PGExecutor(url: url, label: "questdb-pg-\($0)") }
        healthReader = PGExecutor(url: url, label: "questdb-pg-health", connectTimeoutSeconds: 2)
        maintenance = PGExecutor(url: url, label: "questdb-pg-purge")
        spool = try options.spoolDirectory.map { dir throws(StoreError) in
            try ILPSpool(directory: dir, maxBytes: options.spoolLimit)
        }
        try await readers[0].run { db in
            for statement in QuestDBSchema.ddl { try db.query(statement) }
            for (table, column) in QuestDBSchema.layoutMarkers {
                let q = QuestDBSQL.hasColumn(table: table, column: column)
                guard try db.query(q.sql, q.parameters).rows.first?.first?.int == 1 else {
                    throw StoreError.failed(
                        "QuestDB table \(table) has an earlier layout (no column \(column)); drop the backtest_* tables or use another QuestDB database"
                    )
                }
            }
        }
        if let spool, !spool.isEmpty {
            options.logger.warning(
                "delivering writes left in the spool",
                metadata: ["requests": "\(spool.count)", "bytes": "\(spool.bytesPending)"])
            startDrain()
        }
    }

    /// Convenience for tests and tools: no spool, default options otherwise.
    public convenience init(
        httpURL: String, pgURL: String, readerCount: Int = 2, importByteLimit: Int = 256 << 20,
        visibilityTimeout: Double = 30
    ) async throws {
        var options = Options()
        options.readerCount = readerCount
        options.importByteLimit = importByteLimit
        options.visibilityTimeout = visibilityTimeout
        try await self.init(httpURL: httpURL, pgURL: pgURL, options: options)
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

    /// Delivers what is spooled if QuestDB answers (for up to the visibility timeout;
    /// what is left stays on disk for the next start: a shutdown does not wait for a
    /// QuestDB that is down), then closes.
    public func close() async {
        if let spool, !spool.isEmpty, await writer.ping() {
            try? await waitForSpool(nil)
        }
        closed.store(true, ordering: .relaxed)
        let drain = drainTask.withLock { $0 }
        drain?.cancel()
        await drain?.value
        for reader in readers { await reader.close() }
        await healthReader.close()
        await maintenance.close()
    }

    // MARK: Plumbing

    private func reader() -> PGExecutor {
        readers[nextReader.add(1, ordering: .relaxed).oldValue % readers.count]
    }

    /// Runs one query on a reader connection and returns its rows.
    func rows(_ q: QuestDBQuery) async throws(StoreError) -> [[PGValue]] {
        try await reader().run { db in try db.query(q.sql, q.parameters).rows }
    }

    /// A query of a table a purge may rewrite: it waits out the rewrite.
    func rows(_ q: QuestDBQuery, of table: String) async throws -> [[PGValue]] {
        try await gate.reading(table) { try await rows(q) }
    }

    /// Sends ILP lines (of one table). QuestDB unreachable: the lines go to the spool
    /// (in order behind anything already there) and are delivered when it is back.
    func send(_ buffer: ILPBuffer, table: String) async throws {
        guard buffer.rowCount > 0 else { return }
        if let spool {
            if spool.isEmpty {
                do {
                    try await writer.write(buffer.bytes)
                    visibility.wrote(table)
                    return
                } catch StoreError.unavailable(let reason) {
                    options.logger.warning(
                        "QuestDB unreachable: spooling writes", metadata: ["table": "\(table)", "reason": "\(reason)"])
                }
            }
            try spool.append(table: table, bytes: buffer.bytes)
            startDrain()
        } else {
            try await writer.write(buffer.bytes)
            visibility.wrote(table)
        }
    }

    /// Sends ILP lines now, never to the spool (imports answer their caller).
    func sendNow(_ buffer: ILPBuffer, table: String) async throws {
        guard buffer.rowCount > 0 else { return }
        try await importWriter.write(buffer.bytes)
        visibility.wrote(table)
    }

    private func startDrain() {
        drainTask.withLock { task in
            guard task == nil, !closed.load(ordering: .relaxed) else { return }
            task = Task.detached { [self] in await drain() }
        }
    }

    /// Delivers spooled requests oldest first, retrying while QuestDB is unreachable.
    /// A request QuestDB refuses (4xx) can never land: it is logged and dropped so it
    /// does not hold back the rest.
    private func drain() async {
        guard let spool else { return }
        var delay = 0.05
        while !Task.isCancelled {
            let entry: ILPSpool.Entry?
            do {
                entry = try spool.first()
            } catch {
                options.logger.error("cannot read the spool", metadata: ["error": "\(error)"])
                try? await Task.sleep(nanoseconds: 1_000_000_000)
                continue
            }
            guard let entry else {
                let done = drainTask.withLock { task -> Bool in
                    guard spool.isEmpty else { return false }
                    task = nil
                    return true
                }
                if done { return }
                continue
            }
            do {
                try await writer.write(entry.bytes)
                visibility.wrote(entry.table)
                try spool.remove(entry)
                delay = 0.05
                if spool.isEmpty { options.logger.notice("spooled writes delivered to QuestDB") }
            } catch StoreError.invalid(let reason) {
                options.logger.error(
                    "QuestDB refused a spooled write; dropped",
                    metadata: ["table": "\(entry.table)", "bytes": "\(entry.bytes.count)", "reason": "\(reason)"])
                try? spool.remove(entry)
            } catch {
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay = min(delay * 2, 1)
            }
        }
    }

    /// Waits until the spool holds nothing for `table` (nil: for any table).
    func waitForSpool(_ table: String?) async throws {
        guard let spool else { return }
        let deadline = Date().addingTimeInterval(visibilityTimeout)
        while table.map({ spool.pending($0) > 0 }) ?? !spool.isEmpty {
            if Date() > deadline {
                throw StoreError.unavailable(
                    "QuestDB is unreachable: \(spool.count) write(s) (\(spool.bytesPending) bytes) wait in the spool for it"
                )
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// Waits until this store's writes to `tables` are delivered and readable.
    func awaitVisible(_ tables: String...) async throws {
        for table in tables {
            try await waitForSpool(table)
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
                throw StoreError.failed(
                    "QuestDB table \(table) is suspended (writerTxn \(w), sequencerTxn \(s)): its writes are not applied; see ALTER TABLE \(table) RESUME WAL"
                )
            case .pending(let w, _):
                if Date() > deadline {
                    throw StoreError.unavailable(
                        "QuestDB did not apply \(table)'s WAL within \(visibilityTimeout) s (writerTxn \(w), waiting for \(goal))"
                    )
                }
            }
            try? await Task.sleep(nanoseconds: delay)
            delay = min(delay * 2, 50_000_000)
        }
    }

    public func sync() async throws {
        try await awaitVisible(
            QuestDBSchema.sessions, QuestDBSchema.trades, QuestDBSchema.equity, QuestDBSchema.sweeps,
            QuestDBSchema.sweepResults, QuestDBSchema.walkForwardWindows)
    }

    public func health() async -> StoreHealth {
        guard await writer.ping() else {
            return StoreHealth(
                reachable: false, detail: "QuestDB HTTP at \(writer.host):\(writer.port) does not answer /ping")
        }
        do {
            _ = try await healthReader.run { db in try db.query("SELECT 1").rows }
        } catch {
            return StoreHealth(reachable: false, detail: "QuestDB PG wire: \(error)")
        }
        let spooled = spool?.count ?? 0
        return StoreHealth(reachable: true, detail: spooled > 0 ? "delivering \(spooled) spooled write(s)" : "")
    }

    /// The write key base of a session's results (QuestDBSchema).
    func resultBase(_ sessionId: String) -> Int64 {
        keys.withLock { k in
            if let base = k.bases[sessionId] { return base }
            let base = max(Int64(Date().timeIntervalSince1970 * 1e6), k.highWater + 1)
            k.bases[sessionId] = base
            return base
        }
    }

    /// Tests: place a session's results at write keys from `base` (an old partition).
    func useResultBase(_ base: Int64, for sessionId: String) {
        keys.withLock { $0.bases[sessionId] = base }
    }

    /// Deleted sessions write nothing more.
    func forgetResultBases(_ ids: Set<String>) {
        keys.withLock { k in
            for id in ids { k.bases[id] = nil }
        }
    }

    private func wroteKeys(upTo last: Int64) {
        keys.withLock { $0.highWater = max($0.highWater, last) }
    }

    // MARK: Sessions

    public func saveSession(_ record: SessionRecord) async throws {
        var buffer = ILPBuffer()
        try QuestDBRows.appendSession(record, owner: owner, to: &buffer)
        try await send(buffer, table: QuestDBSchema.sessions)
        // An ended session writes no more results: its key base is not needed.
        if record.state.isTerminal { _ = keys.withLock { $0.bases.removeValue(forKey: record.id) } }
    }

    public func session(id: String) async throws -> SessionRecord? {
        try await awaitVisible(QuestDBSchema.sessions, QuestDBSchema.deleted)
        return try await rows(QuestDBSQL.sessionById(id), of: QuestDBSchema.sessions).first.map {
            row throws(StoreError) in
            try QuestDBRows.session(row)
        }
    }

    public func session(clientRequestId: String) async throws -> SessionRecord? {
        guard !clientRequestId.isEmpty else { return nil }
        try await awaitVisible(QuestDBSchema.sessions, QuestDBSchema.deleted)
        return try await rows(QuestDBSQL.sessionByClientRequestId(clientRequestId), of: QuestDBSchema.sessions).first
            .map {
                row throws(StoreError) in try QuestDBRows.session(row)
            }
    }

    public func sessions(in states: Set<SessionState>) async throws -> [SessionRecord] {
        guard !states.isEmpty else { return [] }
        try await awaitVisible(QuestDBSchema.sessions, QuestDBSchema.deleted)
        var out: [SessionRecord] = []
        var after: (createdAt: Int64, id: String)?
        let limit = 1000
        while true {
            let page = try await rows(
                QuestDBSQL.sessionsInStates(Array(states), owner: owner, after: after, limit: limit),
                of: QuestDBSchema.sessions)
            for row in page { out.append(try QuestDBRows.session(row)) }
            guard page.count == limit, let last = out.last else { return out }
            after = (last.createdAt, last.id)
        }
    }

    public func listSessions(_ query: SessionQuery) async throws -> SessionPage {
        let pageSize = query.pageSize <= 0 ? 100 : min(query.pageSize, 1000)
        let filterHash = PageToken.filterHash(query)
        let token =
            query.pageToken.isEmpty ? nil : try PageToken(decoding: query.pageToken, expectedFilterHash: filterHash)
        try await awaitVisible(QuestDBSchema.sessions, QuestDBSchema.deleted)
        // Labels are matched here, so a batch may keep fewer rows than it read: read on
        // (keyset after the last row READ) until the page plus one is found.
        let batch = query.labels.isEmpty ? pageSize + 1 : min(5000, max(256, 4 * (pageSize + 1)))
        var after = token.map { (createdAt: $0.createdAt, id: $0.id) }
        var found: [SessionRecord] = []
        scan: while true {
            let page = try await rows(
                QuestDBSQL.listSessions(query, after: after, limit: batch), of: QuestDBSchema.sessions)
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
        return SessionPage(
            sessions: sessions,
            nextPageToken: PageToken(createdAt: last.createdAt, id: last.id, filterHash: filterHash).encoded())
    }

    // MARK: Results

    public func appendTrades(sessionId: String, _ trades: [TradeRecord]) async throws {
        guard !trades.isEmpty else { return }
        guard !sessionId.isEmpty else { throw StoreError.invalid("trades need a session id") }
        let base = resultBase(sessionId)
        wroteKeys(upTo: base + Int64(trades.lazy.map(\.number).max() ?? 0))
        let prefix = QuestDBRows.resultPrefix(QuestDBSchema.trades, sessionId: sessionId)
        try await sendPipelined(table: QuestDBSchema.trades, count: trades.count) { i, buffer throws(StoreError) in
            try QuestDBRows.appendTrade(
                prefix: prefix, key: base + Int64(max(0, trades[i].number)), trades[i], to: &buffer)
        }
    }

    public func appendEquity(sessionId: String, startingAt index: UInt64, _ points: [EquitySample]) async throws {
        guard !points.isEmpty else { return }
        guard !sessionId.isEmpty else { throw StoreError.invalid("equity samples need a session id") }
        let base = resultBase(sessionId) + Int64(index)
        wroteKeys(upTo: base + Int64(points.count) - 1)
        let prefix = QuestDBRows.resultPrefix(QuestDBSchema.equity, sessionId: sessionId)
        try await sendPipelined(table: QuestDBSchema.equity, count: points.count) { i, buffer throws(StoreError) in
            try QuestDBRows.appendEquity(prefix: prefix, key: base + Int64(i), points[i], to: &buffer)
        }
    }

    /// Encodes rows 0..<count into requests of about writeBatchBytes and sends them in
    /// order, encoding the next request while the previous one is on the wire (one in
    /// flight: requests of one session commit in key order, so QuestDB only appends).
    private func sendPipelined(table: String, count: Int, _ encode: (Int, inout ILPBuffer) throws(StoreError) -> Void)
        async throws
    {
        var inFlight: Task<Void, any Error>?
        var buffer = ILPBuffer()
        buffer.reserveCapacity(min(Self.writeBatchBytes + 65_536, count * 192))
        for i in 0..<count {
            try encode(i, &buffer)
            if buffer.bytes.count >= Self.writeBatchBytes || i == count - 1 {
                try await inFlight?.value
                let full = buffer
                inFlight = Task { try await self.send(full, table: table) }
                buffer = ILPBuffer()
                if i < count - 1 { buffer.reserveCapacity(min(Self.writeBatchBytes + 65_536, (count - i) * 192)) }
            }
        }
        try await inFlight?.value
    }

    /// The ILP lines this store sends for these equity samples at write keys
    /// `firstKey`, `firstKey + 1`, ... (for tools comparing other senders on the same bytes).
    public static func equityLines(sessionId: String, firstKey: Int64, _ points: [EquitySample]) throws -> [UInt8] {
        let prefix = QuestDBRows.resultPrefix(QuestDBSchema.equity, sessionId: sessionId)
        var buffer = ILPBuffer()
        for (i, point) in points.enumerated() {
            try QuestDBRows.appendEquity(prefix: prefix, key: firstKey + Int64(i), point, to: &buffer)
        }
        return buffer.bytes
    }

    public func trades(sessionId: String, batchSize: Int) async throws -> any RowCursor<TradeRecord> {
        try await awaitVisible(QuestDBSchema.trades, QuestDBSchema.deleted)
        if try await isDeleted(sessionId) { return BatchCursor<TradeRecord>.empty() }
        let limit = max(1, batchSize)
        var lastKey: Int64 = 0
        var exhausted = false
        return BatchCursor { [self] in
            guard !exhausted else { return nil }
            let found = try await rows(
                QuestDBSQL.trades(sessionId: sessionId, afterKey: lastKey, limit: limit), of: QuestDBSchema.trades)
            let decoded = try found.map { row throws(StoreError) in try QuestDBRows.trade(row) }
            exhausted = decoded.count < limit
            if let last = decoded.last { lastKey = last.key }
            return decoded.map(\.trade)
        }
    }

    public func equity(sessionId: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<EquitySample>
    {
        try await awaitVisible(QuestDBSchema.equity, QuestDBSchema.deleted)
        if try await isDeleted(sessionId) { return BatchCursor<EquitySample>.empty() }
        let limit = max(1, batchSize)
        var lastKey: Int64 = 0
        var exhausted = range.isEmpty
        return BatchCursor { [self] in
            guard !exhausted else { return nil }
            let found = try await rows(
                QuestDBSQL.equity(
                    sessionId: sessionId, from: range.start, end: range.end, afterKey: lastKey, limit: limit),
                of: QuestDBSchema.equity)
            let decoded = try found.map { row throws(StoreError) in try QuestDBRows.equity(row) }
            exhausted = decoded.count < limit
            if let last = decoded.last { lastKey = last.key }
            return decoded.map(\.sample)
        }
    }
}
