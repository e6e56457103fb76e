internal import CSQLite

// The only file that touches the sqlite3 C API: everything above it sees Swift values.
// Neither type is thread-safe; SQLiteExecutor confines each connection to one queue.

/// One open database connection with a cache of prepared statements.
final class SQLiteConnection {
    private var db: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    /// The WAL hook's closure; SQLite holds only an unretained pointer to it.
    private var walHook: WALHook?
    let path: String

    init(path: String, busyTimeoutMillis: Int32 = 10_000) throws(StoreError) {
        self.path = path
        // NOMUTEX: each connection lives on one serial queue, SQLite's own locking would
        // only cost time. Extended result codes give precise error messages.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw StoreError.unavailable("cannot open SQLite database \(path): \(message)")
        }
        db = handle
        sqlite3_busy_timeout(handle, busyTimeoutMillis)
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit { close() }

    func close() {
        for statement in statements.values { statement.finalize() }
        statements.removeAll()
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    private func handle() throws(StoreError) -> OpaquePointer {
        guard let db else { throw StoreError.unavailable("SQLite connection to \(path) is closed") }
        return db
    }

    /// Runs SQL without parameters (DDL, pragmas, BEGIN/COMMIT); several statements allowed.
    func execute(_ sql: String) throws(StoreError) {
        let db = try handle()
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(db, sql, nil, nil, &errmsg)
        if rc != SQLITE_OK {
            let message = errmsg.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errmsg)
            throw Self.error(code: rc, message: message, sql: sql)
        }
    }

    /// A prepared statement, reset and with cleared bindings; cached per SQL text.
    func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let db = try handle()
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw Self.error(code: rc, message: String(cString: sqlite3_errmsg(db)), sql: sql)
        }
        let statement = SQLiteStatement(stmt, connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// Resets every cached statement. A statement left mid-result keeps its read
    /// transaction, and with it an old WAL snapshot, open: the executor calls this after
    /// each unit of work so the next one sees the latest commits.
    func resetStatements() {
        for statement in statements.values { statement.resetKeepingBindings() }
    }

    /// Runs `body` in one write transaction (BEGIN IMMEDIATE takes the write lock up
    /// front, so a busy database waits in the busy handler instead of failing mid-way).
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Calls `body` after each commit of this connection with the number of frames then
    /// in the WAL. It takes the place of the wal_autocheckpoint hook (SQLite keeps one per
    /// connection), which connectionPragmas turns off anyway.
    func onCommit(walFrames body: @escaping (Int) -> Void) throws(StoreError) {
        let db = try handle()
        let hook = WALHook(body)
        walHook = hook
        sqlite3_wal_hook(
            db,
            { context, _, _, frames in
                if let context { Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().body(Int(frames)) }
                return SQLITE_OK
            }, Unmanaged.passUnretained(hook).toOpaque())
    }

    enum CheckpointMode {
        case passive, restart, truncate

        var code: Int32 {
            switch self {
            case .passive: SQLITE_CHECKPOINT_PASSIVE
            case .restart: SQLITE_CHECKPOINT_RESTART
            case .truncate: SQLITE_CHECKPOINT_TRUNCATE
            }
        }
    }

    /// Checkpoints the main database's WAL. `complete` is false when the busy handler gave
    /// up (writer lock or readers): the frames copied by then stay copied.
    func checkpoint(_ mode: CheckpointMode) throws(StoreError) -> (complete: Bool, logFrames: Int, copiedFrames: Int) {
        let db = try handle()
        var log: Int32 = 0
        var copied: Int32 = 0
        let rc = sqlite3_wal_checkpoint_v2(db, "main", mode.code, &log, &copied)
        switch rc & 0xff {
        case SQLITE_OK: return (true, Int(log), Int(copied))
        case SQLITE_BUSY: return (false, Int(log), Int(copied))
        default: throw lastError(code: rc, sql: "checkpoint \(mode)")
        }
    }

    /// How long a lock wait may take before SQLITE_BUSY.
    func setBusyTimeout(millis: Int32) {
        if let db { sqlite3_busy_timeout(db, millis) }
    }

    var pageSize: Int {
        get throws(StoreError) {
            let statement = try prepare("PRAGMA page_size")
            defer { statement.reset() }
            _ = try statement.step()
            return Int(statement.int64(0))
        }
    }

    var changes: Int { db.map { Int(sqlite3_changes64($0)) } ?? 0 }
    var lastInsertRowID: Int64 { db.map { sqlite3_last_insert_rowid($0) } ?? 0 }
    var isInTransaction: Bool { db.map { sqlite3_get_autocommit($0) == 0 } ?? false }

    fileprivate func lastError(code: Int32, sql: String) -> StoreError {
        Self.error(code: code, message: db.map { String(cString: sqlite3_errmsg($0)) } ?? "closed", sql: sql)
    }

    private static func error(code: Int32, message: String, sql: String) -> StoreError {
        let primary = code & 0xff
        let text = "SQLite \(String(cString: sqlite3_errstr(code))) (\(code)): \(message)"
        switch primary {
        case SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_FULL, SQLITE_READONLY:
            return .unavailable(text)
        case SQLITE_CONSTRAINT, SQLITE_MISMATCH, SQLITE_TOOBIG, SQLITE_RANGE:
            return .invalid(text)
        default:
            return .failed(text)
        }
    }
}

private final class WALHook {
    let body: (Int) -> Void
    init(_ body: @escaping (Int) -> Void) { self.body = body }
}

/// A prepared statement: bind by 1-based index, step, read columns by 0-based index.
final class SQLiteStatement {
    private var stmt: OpaquePointer?
    private unowned let connection: SQLiteConnection
    let sql: String

    fileprivate init(_ stmt: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.stmt = stmt
        self.connection = connection
        self.sql = sql
    }

    fileprivate func finalize() {
        sqlite3_finalize(stmt)
        stmt = nil
    }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    fileprivate func resetKeepingBindings() { sqlite3_reset(stmt) }

    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(stmt, index, value) }
    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(stmt, index, Int64(value)) }
    /// NaN is stored as NULL by SQLite; readers map NULL back to NaN (`double`).
    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(stmt, index, value) }
    func bindNull(_ index: Int32) { sqlite3_bind_null(stmt, index) }
    func bind(_ index: Int32, _ value: Int64?) {
        if let value { bind(index, value) } else { bindNull(index) }
    }

    /// Binds the exact UTF-8 bytes (NUL bytes included); SQLite copies them.
    func bind(_ index: Int32, _ value: String) {
        var value = value
        value.withUTF8 { bytes in
            if let base = bytes.baseAddress, bytes.count > 0 {
                base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    _ = sqlite3_bind_text(stmt, index, $0, Int32(bytes.count), csqlite_transient())
                }
            } else {
                _ = sqlite3_bind_text(stmt, index, "", 0, csqlite_transient())
            }
        }
    }

    func bind(_ index: Int32, blob: UnsafeRawBufferPointer) {
        if let base = blob.baseAddress, blob.count > 0 {
            sqlite3_bind_blob64(stmt, index, base, sqlite3_uint64(blob.count), csqlite_transient())
        } else {
            sqlite3_bind_zeroblob(stmt, index, 0)
        }
    }

    func bind(_ index: Int32, blob: [UInt8]) {
        blob.withUnsafeBytes { bind(index, blob: $0) }
    }

    /// Advances to the next row; false when done.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = connection.lastError(code: rc, sql: sql)
            sqlite3_reset(stmt)
            throw error
        }
    }

    /// Steps a statement that returns no rows (or whose rows do not matter).
    func run() throws(StoreError) {
        while try step() {}
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(stmt, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(stmt, column) }
    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    /// NULL (how SQLite stores NaN) reads as NaN.
    func double(_ column: Int32) -> Double { isNull(column) ? .nan : sqlite3_column_double(stmt, column) }

    func text(_ column: Int32) -> String {
        guard let pointer = sqlite3_column_text(stmt, column) else { return "" }
        let count = Int(sqlite3_column_bytes(stmt, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The blob's bytes, valid only inside `body`.
    func withBlob<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) throws(StoreError) -> T) throws(StoreError) -> T
    {
        let pointer = sqlite3_column_blob(stmt, column)
        let count = Int(sqlite3_column_bytes(stmt, column))
        return try body(UnsafeRawBufferPointer(start: count > 0 ? pointer : nil, count: count))
    }

    func blob(_ column: Int32) -> [UInt8] {
        let pointer = sqlite3_column_blob(stmt, column)
        let count = Int(sqlite3_column_bytes(stmt, column))
        guard let pointer, count > 0 else { return [] }
        return [UInt8](UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
