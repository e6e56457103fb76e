import BacktestEngine
import BacktestStore
import Synchronization

/// The real SQLite store behind two switches: once `breakNow` is called, every write
/// fails as a store that went away would; while reads are held, a run's data waits
/// (the run holds its slot meanwhile, as a slow store would make it).
public final class FaultyStore: BacktestStore {
    public let inner: any BacktestStore
    private let broken = Mutex(false)

    public init(_ inner: any BacktestStore) {
        self.inner = inner
    }

    public func breakNow() { broken.withLock { $0 = true } }

    private typealias Gate = Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>
    private let gate = Gate((false, []))
    private let saveGate = Gate((false, []))

    public func holdReads() { gate.withLock { $0.held = true } }
    public func releaseReads() { Self.release(gate) }

    /// While held, session saves wait (a slow store): a save is then in flight.
    public func holdSaves() { saveGate.withLock { $0.held = true } }
    public func releaseSaves() { Self.release(saveGate) }

    private static func release(_ gate: borrowing Gate) {
        let waiters = gate.withLock { g in
            g.held = false
            defer { g.waiters = [] }
            return g.waiters
        }
        for w in waiters { w.resume() }
    }

    private func passGate() async { await Self.pass(gate) }

    private static func pass(_ gate: borrowing Gate) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let pass = gate.withLock { g in
                if !g.held { return true }
                g.waiters.append(c)
                return false
            }
            if pass { c.resume() }
        }
    }

    private func check() throws {
        if broken.withLock({ $0 }) { throw StoreError.unavailable("connection refused (injected)") }
    }

    public func saveSession(_ record: SessionRecord) async throws {
        try check()
        await Self.pass(saveGate)
        try await inner.saveSession(record)
    }
    public func session(id: String) async throws -> SessionRecord? { try await inner.session(id: id) }
    public func session(clientRequestId: String) async throws -> SessionRecord? {
        try await inner.session(clientRequestId: clientRequestId)
    }
    public func listSessions(_ query: SessionQuery) async throws -> SessionPage { try await inner.listSessions(query) }
    public func sessions(in states: Set<SessionState>) async throws -> [SessionRecord] {
        try await inner.sessions(in: states)
    }
    public func appendTrades(sessionId: String, _ trades: [TradeRecord]) async throws {
        try check()
        try await inner.appendTrades(sessionId: sessionId, trades)
    }
    public func appendEquity(sessionId: String, startingAt index: UInt64, _ points: [EquitySample]) async throws {
        try check()
        try await inner.appendEquity(sessionId: sessionId, startingAt: index, points)
    }
    public func trades(sessionId: String, batchSize: Int) async throws -> any RowCursor<TradeRecord> {
        try await inner.trades(sessionId: sessionId, batchSize: batchSize)
    }
    public func equity(sessionId: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<EquitySample>
    {
        try await inner.equity(sessionId: sessionId, range: range, batchSize: batchSize)
    }
    public func deleteSessions(ids: [String]) async throws -> Set<String> {
        try check()
        return try await inner.deleteSessions(ids: ids)
    }
    public func purgeDeleted() async throws -> PurgeReport { try await inner.purgeDeleted() }
    public func marketSeries(symbol: String) async throws -> [MarketSeries] {
        try await inner.marketSeries(symbol: symbol)
    }
    public func candles(symbol: String, timeframe: Timeframe, range: TimeRange, batchSize: Int) async throws
        -> any RowCursor<
            Candle
        >
    {
        await passGate()
        return try await inner.candles(symbol: symbol, timeframe: timeframe, range: range, batchSize: batchSize)
    }
    public func ticks(symbol: String, range: TimeRange, batchSize: Int) async throws -> any RowCursor<Tick> {
        try await inner.ticks(symbol: symbol, range: range, batchSize: batchSize)
    }
    public func beginImport(symbol: String, kind: MarketSeries.Kind, timeframe: String, replaceExisting: Bool)
        async throws
        -> any MarketDataImport
    {
        try await inner.beginImport(symbol: symbol, kind: kind, timeframe: timeframe, replaceExisting: replaceExisting)
    }
    public func sync() async throws {
        try check()
        try await inner.sync()
    }
    public func health() async -> StoreHealth {
        broken.withLock { $0 }
            ? StoreHealth(reachable: false, detail: "connection refused (injected)") : await inner.health()
    }
    public func close() async { await inner.close() }
}
