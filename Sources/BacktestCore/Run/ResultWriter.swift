import BacktestEngine
import BacktestStore

/// Writes a run's trades and equity points to the store in large batches, one batch in
/// flight while the engine fills the next, so storing overlaps computing and memory
/// stays bounded (two batches at most).
struct ResultWriter {
    let store: any BacktestStore
    let sessionId: String
    /// Equity points per write; trades go with them (they are far fewer).
    var flushThreshold = 65_536
    private var trades: [TradeRecord] = []
    private var equity: [EquitySample] = []
    /// Samples handed to the store so far: the index of the next one.
    private var equitySent: UInt64 = 0
    private var inFlight: Task<Void, any Error>?

    let retryBudget: Duration

    init(store: any BacktestStore, sessionId: String, retryBudget: Duration) {
        self.store = store
        self.sessionId = sessionId
        self.retryBudget = retryBudget
    }

    mutating func add(trades newTrades: [TradeRecord], equity newEquity: [EquitySample]) async throws {
        if trades.isEmpty { trades = newTrades } else { trades.append(contentsOf: newTrades) }
        if equity.isEmpty { equity = newEquity } else { equity.append(contentsOf: newEquity) }
        if equity.count >= flushThreshold || trades.count >= 4096 {
            try await flush()
        }
    }

    /// Waits for the batch in flight, then sends what has accumulated.
    mutating func flush() async throws {
        try await inFlight?.value
        inFlight = nil
        guard !trades.isEmpty || !equity.isEmpty else { return }
        let (t, e, store, id, budget, index) = (trades, equity, store, sessionId, retryBudget, equitySent)
        equitySent += UInt64(equity.count)
        trades = []
        equity = []
        inFlight = Task {
            if !t.isEmpty {
                try await StoreRetry.run(budget: budget) { try await store.appendTrades(sessionId: id, t) }
            }
            if !e.isEmpty {
                try await StoreRetry.run(budget: budget) {
                    try await store.appendEquity(sessionId: id, startingAt: index, e)
                }
            }
        }
    }

    /// Everything added is stored when this returns.
    mutating func finish() async throws {
        try await flush()
        try await inFlight?.value
        inFlight = nil
    }
}
