import BacktestEngine

/// A stored market data series.
public struct MarketSeries: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, Codable { case candles, ticks }
    public var symbol: String
    public var kind: Kind
    /// The candle interval ("1m", "1d"); empty for ticks.
    public var timeframe: String
    /// First and last row times, microseconds since the epoch.
    public var firstTime: Int64
    public var lastTime: Int64
    public var rows: UInt64

    public init(symbol: String, kind: Kind, timeframe: String, firstTime: Int64, lastTime: Int64, rows: UInt64) {
        self.symbol = symbol
        self.kind = kind
        self.timeframe = timeframe
        self.firstTime = firstTime
        self.lastTime = lastTime
        self.rows = rows
    }
}

/// Filters and paging of ListSessions. Newest first (created_at, then id, descending).
public struct SessionQuery: Sendable, Equatable {
    /// Empty = every state.
    public var states: Set<SessionState> = []
    /// Empty = every symbol.
    public var symbol: String = ""
    /// [createdAfter, createdBefore), microseconds; nil = unbounded.
    public var createdAfter: Int64?
    public var createdBefore: Int64?
    /// Sessions carrying all of these labels with these values.
    public var labels: [String: String] = [:]
    public var pageSize: Int = 100
    /// The previous page's `nextPageToken`; empty = the first page. Opaque to callers.
    public var pageToken: String = ""

    public init() {}
}

public struct SessionPage: Sendable, Equatable {
    public var sessions: [SessionRecord]
    /// Empty on the last page.
    public var nextPageToken: String

    public init(sessions: [SessionRecord], nextPageToken: String) {
        self.sessions = sessions
        self.nextPageToken = nextPageToken
    }
}

/// Pulls rows of one series in time order, one batch at a time; nil at the end.
/// Owned by one task; `close` releases it early (it is also released at the end).
public protocol RowCursor<Row>: AnyObject {
    associatedtype Row
    func next() async throws -> [Row]?
    func close()
}

/// An all-or-nothing load of one series: rows appended in batches, then committed.
/// Nothing is visible (or kept) unless `commit` succeeds; `abort` discards it all.
public protocol MarketDataImport: AnyObject {
    func append(candles: [Candle]) async throws
    func append(ticks: [Tick]) async throws
    /// Returns what was stored (the imported range and row count).
    func commit() async throws -> MarketSeries
    func abort() async
}

/// Errors every store reports in these terms, so the service can map them to statuses.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store cannot be reached or keeps failing after retries (UNAVAILABLE).
    case unavailable(String)
    /// A row or request the store refuses (INVALID_ARGUMENT); the message names it.
    case invalid(String)
    /// Rows already stored at these times, without replace (ALREADY_EXISTS / INVALID_ARGUMENT).
    case conflict(String)
    /// A page token this store did not make.
    case badPageToken(String)
    /// Something this store does not do (a store without sweeps).
    case unsupported(String)
    /// Anything else, with the store's own message.
    case failed(String)

    public var description: String {
        switch self {
        case .unavailable(let m): return "store unavailable: \(m)"
        case .invalid(let m): return m
        case .conflict(let m): return m
        case .badPageToken(let m): return "invalid page token: \(m)"
        case .unsupported(let m): return m
        case .failed(let m): return "store error: \(m)"
        }
    }
}

/// Everything the service keeps: sessions, their results, and market data.
/// Implemented by `SQLiteStore` (the embedded default) and `QuestDBStore`.
public protocol BacktestStore: Sendable {
    // Sessions.
    /// Inserts or replaces the whole record (status changes and progress both come here).
    func saveSession(_ record: SessionRecord) async throws
    func session(id: String) async throws -> SessionRecord?
    func session(clientRequestId: String) async throws -> SessionRecord?
    func listSessions(_ query: SessionQuery) async throws -> SessionPage
    /// Sessions in these states (start-up recovery finds `started`/`running` ones).
    func sessions(in states: Set<SessionState>) async throws -> [SessionRecord]

    // Results, appended in batches while a session runs.
    func appendTrades(sessionId: String, _ trades: [TradeRecord]) async throws
    /// `index` is the position of `points[0]` in the session's curve (0 for the first
    /// append): a retried append rewrites the same samples, never adds copies.
    func appendEquity(sessionId: String, startingAt index: UInt64, _ points: [EquitySample]) async throws
    /// In trade-number order, in batches of at most `batchSize`.
    func trades(sessionId: String, batchSize: Int) async throws -> any RowCursor<TradeRecord>
    /// In time order within `range`, in batches of at most `batchSize`.
    func equity(sessionId: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<EquitySample>

    // Deletion (docs/DESIGN.md section 2.7).
    /// Deletes these sessions and everything stored for them: record, labels,
    /// statistics, trades, equity curve. Returns the ids that were stored (the others
    /// are skipped). Once it returns no read shows them, on any process sharing the
    /// store. The caller makes sure the sessions have ended: the store does not check.
    func deleteSessions(ids: [String]) async throws -> Set<String>
    /// Removes for good what deleted sessions left behind where the store defers it
    /// (QuestDB rewrites partitions once no write can land in them); runs periodically.
    func purgeDeleted() async throws -> PurgeReport

    // Market data.
    /// Series stored; `symbol` empty = all. Candles built from ticks are not listed.
    func marketSeries(symbol: String) async throws -> [MarketSeries]
    /// Candles of `symbol` at `timeframe` in `range`; when only ticks are stored,
    /// candles aggregated from them. Empty cursor when nothing is stored.
    func candles(symbol: String, timeframe: Timeframe, range: TimeRange, batchSize: Int) async throws -> any RowCursor<
        Candle
    >
    func ticks(symbol: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<Tick>
    /// Begins an all-or-nothing import of one series.
    func beginImport(symbol: String, kind: MarketSeries.Kind, timeframe: String, replaceExisting: Bool) async throws
        -> any MarketDataImport

    // Parameter sweeps (docs/DESIGN.md section 13): their records and one row of
    // statistics per combination. Stores without them answer `unsupported`.
    /// Inserts or replaces the whole record.
    func saveSweep(_ record: SweepRecord) async throws
    func sweep(id: String) async throws -> SweepRecord?
    func listSweeps(_ query: SweepQuery) async throws -> SweepPage
    /// Sweeps in these states (start-up recovery).
    func sweeps(in states: Set<SessionState>) async throws -> [SweepRecord]
    /// Inserts or replaces rows by combination (a retried write stores them once).
    func saveSweepResults(sweepId: String, _ rows: [SweepResultRow]) async throws
    func sweepResults(_ query: SweepResultQuery) async throws -> SweepResultPage
    /// A walk-forward's windows (docs/DESIGN.md section 13.9): inserts or replaces by index.
    func saveWalkForwardWindow(sweepId: String, _ window: WalkForwardWindowRow) async throws
    /// Its windows so far, by index.
    func walkForwardWindows(sweepId: String) async throws -> [WalkForwardWindowRow]
    /// Deletes these sweeps' records, result rows and walk-forward windows (not the
    /// sessions they stored: the caller deletes those with `deleteSessions`). Returns
    /// the ids that were stored; once it returns no read shows them. The caller makes
    /// sure the sweeps have ended: the store does not check.
    func deleteSweeps(ids: [String]) async throws -> Set<String>

    /// Returns once everything written before is stored and readable by every reader
    /// (a store that applies writes later waits for them); throws when it cannot be.
    func sync() async throws
    /// Whether the store can be reached now (for health checks).
    func health() async -> StoreHealth

    /// Waits for pending writes and releases connections.
    func close() async
}

/// What a store's health check found.
public struct StoreHealth: Sendable, Equatable {
    public var reachable: Bool
    /// Why not, or what it is busy with; empty when all is well.
    public var detail: String

    public init(reachable: Bool, detail: String = "") {
        self.reachable = reachable
        self.detail = detail
    }
}

/// What one purge of deleted sessions' leftovers did.
public struct PurgeReport: Sendable, Equatable {
    /// Partitions dropped whole (every row in them belonged to deleted sessions).
    public var partitionsDropped = 0
    /// Partitions rewritten without the deleted sessions' rows.
    public var partitionsRewritten = 0
    /// Rows removed.
    public var rowsRemoved = 0
    /// Partitions holding deleted sessions' rows that may still be written to; a later
    /// purge removes those rows.
    public var partitionsPending = 0

    public init() {}

    public var isEmpty: Bool { partitionsDropped == 0 && partitionsRewritten == 0 && rowsRemoved == 0 }
}

/// Defaults. The sweep methods are for a store without sweeps (both real stores keep
/// them; a test double may not): they answer `unsupported`.
extension BacktestStore {
    public func saveSweep(_ record: SweepRecord) async throws { throw Self.noSweeps }
    public func sweep(id: String) async throws -> SweepRecord? { throw Self.noSweeps }
    public func listSweeps(_ query: SweepQuery) async throws -> SweepPage { throw Self.noSweeps }
    public func sweeps(in states: Set<SessionState>) async throws -> [SweepRecord] { throw Self.noSweeps }
    public func saveSweepResults(sweepId: String, _ rows: [SweepResultRow]) async throws { throw Self.noSweeps }
    public func sweepResults(_ query: SweepResultQuery) async throws -> SweepResultPage { throw Self.noSweeps }
    public func saveWalkForwardWindow(sweepId: String, _ window: WalkForwardWindowRow) async throws {
        throw Self.noSweeps
    }
    public func walkForwardWindows(sweepId: String) async throws -> [WalkForwardWindowRow] { throw Self.noSweeps }
    public func deleteSweeps(ids: [String]) async throws -> Set<String> { throw Self.noSweeps }

    static var noSweeps: StoreError {
        StoreError.unsupported(
            "parameter sweeps need the SQLite store or the QuestDB store; this store keeps none")
    }

    /// Stores that remove everything as they delete have nothing left to purge.
    public func purgeDeleted() async throws -> PurgeReport { PurgeReport() }
    /// Stores whose writes are readable once they return have nothing to wait for.
    public func sync() async throws {}
    public func health() async -> StoreHealth { StoreHealth(reachable: true) }
}
