import BacktestEngine
import BacktestStore
import Foundation
import Logging

/// One sweep, run as one job: its data read once, its combinations computed on a
/// bounded number of workers that share the data, only the statistics of each stored
/// (in batches, keyed by combination), the best `topK` then run again with their
/// trades and equity curve stored as sessions. Progress goes to the sweep's hub and
/// ends with exactly one terminal event, after the terminal record is saved.
///
/// Every combination is an engine run on the same bars in the same order as a
/// StartBacktest of it would be, so its statistics are those of that backtest, bit
/// for bit (docs/DESIGN.md section 9); the order in which workers finish changes
/// nothing stored.
struct SweepJob {
    let plan: SweepPlan
    let store: any BacktestStore
    let hub: ProgressHub<SweepProgress>
    let control: RunControl
    let clock: any ServiceClock
    let logger: Logger
    var record: SweepRecord

    var retryBudget = Duration.seconds(120)
    var publishInterval = Duration.milliseconds(100)
    var persistInterval = Duration.seconds(1)
    /// When the counts were last published and saved (`publishIfDue`).
    var lastPublish = Duration.zero
    var lastPersist = Duration.zero
    /// Rows per write of results.
    var flushRows = 1024
    /// Bars or ticks per engine call; a worker yields between calls (every 2 ms at
    /// most) so RPC handlers keep their share of the cores.
    static let slice = 8192

    var top: TopResults
    /// Set: the combinations are spread over the cluster's nodes as shards
    /// (`distributed`); a walk-forward runs here whatever.
    var cluster: (any SweepCluster)?
    /// Taken over from a coordinator that died: the shards are offered already.
    var adopted = false
    /// Combinations each node computed (a spread sweep's), for the end's log line.
    var doneByNode: [String: Int] = [:]
    /// The walk-forward window being swept (0 for a plain sweep).
    var window = 0
    var wallStart = Duration.zero
    /// Whether the terminal record reached the store (else the registry answers for it).
    private(set) var terminalStored = false

    init(
        plan: SweepPlan, store: any BacktestStore, hub: ProgressHub<SweepProgress>, control: RunControl,
        clock: any ServiceClock, logger: Logger, record: SweepRecord
    ) {
        self.plan = plan
        self.store = store
        self.hub = hub
        self.control = control
        self.clock = clock
        self.logger = logger
        self.record = record
        top = TopResults(k: plan.topK, maximize: plan.request.maximize)
    }

    enum Outcome {
        case completed
        case stopped(String)
        case failed(String)
    }

    /// What one combination gave.
    enum Evaluation: Sendable {
        case statistics(BacktestStatistics)
        case failed(String)
        /// A stop came before it finished: nothing is recorded for it.
        case stopped
    }

    /// Runs to the end; returns the terminal record (saved when the store allows).
    mutating func execute() async -> SweepRecord {
        record.state = .running
        record.startedAt = record.startedAt ?? clock.wallMicros
        wallStart = clock.now
        // An adopted sweep says where it is once it has counted its reports.
        if !adopted { hub.publish(event(.update)) }
        var outcome: Outcome
        do {
            try await StoreRetry.run(budget: retryBudget) { [record, store] in try await store.saveSweep(record) }
            // Other nodes store rows under this record: they must find it.
            if cluster != nil && plan.walkForward == nil { try await store.sync() }
            if let cluster, plan.walkForward == nil, let spread = try await distributed(cluster) {
                outcome = spread
                if case .completed = outcome, let stopped = try await keepBest(try await load()) { outcome = stopped }
            } else if let walkForward = plan.walkForward {
                outcome = try await self.walkForward(try await load(), walkForward)
            } else {
                let data = try await load()
                outcome = try await sweep(data)
                if case .completed = outcome, let stopped = try await keepBest(data) { outcome = stopped }
            }
        } catch {
            outcome = control.stopReason.map { .stopped($0) } ?? .failed(Self.describe(error))
        }
        return await end(outcome)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as EngineError: "engine: \(error.description)"
        case let error as StoreError: error.description
        default: "\(error)"
        }
    }

    // MARK: Data

    func load() async throws -> SweepData {
        try await Self.load(plan.request.base, from: store, retryBudget: retryBudget)
    }

    /// The bars or ticks of `spec`, read whole.
    static func load(_ spec: RunRequest, from store: any BacktestStore, retryBudget: Duration) async throws
        -> SweepData
    {
        switch spec.timeframe {
        case .tick:
            let cursor = try await StoreRetry.run(budget: retryBudget) {
                try await store.ticks(symbol: spec.symbol, range: spec.range, batchSize: 65_536)
            }
            defer { cursor.close() }
            var rows: [Tick] = []
            while let batch = try await cursor.next() { rows += batch }
            return .ticks(rows)
        case .candles:
            let cursor = try await StoreRetry.run(budget: retryBudget) {
                try await store.candles(
                    symbol: spec.symbol, timeframe: spec.timeframe, range: spec.range, batchSize: 65_536)
            }
            defer { cursor.close() }
            var rows: [Candle] = []
            while let batch = try await cursor.next() { rows += batch }
            return .candles(rows)
        }
    }

    // MARK: The combinations

    /// Runs every combination over `data`, offering each to `top`; with `keepRows`, each
    /// row is stored (a walk-forward keeps only its windows).
    mutating func sweep(_ data: SweepData, keepRows: Bool = true) async throws -> Outcome {
        let total = plan.count
        let base = plan.request.base.config
        let objective = plan.objective
        var pending: [SweepResultRow] = []
        (lastPublish, lastPersist) = (clock.now, clock.now)
        // Indicators of the bars' fields are computed once for all the combinations.
        let shared = Self.sharedColumns(data, budgetBytes: plan.sharedColumnBytes)
        defer {
            if let usage = shared?.usage {
                logger.debug(
                    "shared indicator columns",
                    metadata: [
                        "sweep": "\(record.id)", "computed": "\(usage.computed)", "reused": "\(usage.reused)",
                        "evicted": "\(usage.evicted)", "refused": "\(usage.refused)",
                    ])
            }
        }
        try await Self.evaluateAll(
            total, workers: plan.workers, data: data, shared: shared, control: control,
            config: { SweepRequest.config(base, plan.params($0)) }
        ) { n, evaluation in
            let params = plan.params(n)
            switch evaluation {
            case .stopped: return
            case .statistics(let s):
                let row = SweepResultRow(combination: Int64(n), params: params, statistics: s)
                top.offer(objective.value(s), row)
                if keepRows { pending.append(row) }
            case .failed(let message):
                record.failed += 1
                if keepRows {
                    pending.append(
                        SweepResultRow(combination: Int64(n), params: params, statistics: nil, error: message))
                }
            }
            record.done += 1
            if pending.count >= flushRows {
                try await save(pending)
                pending.removeAll(keepingCapacity: true)
            }
            if publishIfDue() {
                try await save(pending)
                pending.removeAll(keepingCapacity: true)
                try await persistCounts()
            }
        }
        try await save(pending)
        noteBest()
        if let reason = control.stopReason { return .stopped(reason) }
        return .completed
    }

    func save(_ rows: [SweepResultRow]) async throws {
        guard !rows.isEmpty else { return }
        try await StoreRetry.run(budget: retryBudget) { [store, id = record.id] in
            try await store.saveSweepResults(sweepId: id, rows)
        }
    }

    /// Publishes the counts when `publishInterval` has passed since the last time; true
    /// when `persistInterval` has passed since the last save (the caller stores what it
    /// holds, then `persistCounts`).
    mutating func publishIfDue() -> Bool {
        let now = clock.now
        if now - lastPublish >= publishInterval {
            lastPublish = now
            hub.publish(event(.update))
        }
        guard now - lastPersist >= persistInterval else { return false }
        lastPersist = now
        return true
    }

    /// The sweep's record, with its best so far, saved.
    mutating func persistCounts() async throws {
        noteBest()
        try await StoreRetry.run(budget: retryBudget) { [record, store] in try await store.saveSweep(record) }
    }

    mutating func noteBest() {
        record.bestCombination = top.best?.row.combination
        record.bestValue = top.best?.value ?? .nan
    }

    /// The columns a sweep's combinations share over `data`; nil with no budget.
    static func sharedColumns(_ data: SweepData, budgetBytes: Int) -> SharedColumns? {
        guard budgetBytes > 0 else { return nil }
        switch data {
        case .candles(let rows): return SharedColumns(candles: rows, budgetBytes: budgetBytes)
        case .ticks(let rows): return SharedColumns(ticks: rows, budgetBytes: budgetBytes)
        }
    }

    /// Evaluates combinations 0..<count (`config(i)` each), at most `workers` at once,
    /// and hands each result to `each` in the calling task as it comes. The next one
    /// starts before `each` runs, so the workers stay busy while it saves; none starts
    /// once `control` has a stop reason.
    static func evaluateAll(
        _ count: Int, workers: Int, data: SweepData, shared: SharedColumns?, control: RunControl,
        config: (Int) -> BacktestConfig, _ each: (Int, Evaluation) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: (Int, Evaluation).self) { group in
            var next = 0
            func add() {
                let (n, config) = (next, config(next))
                group.addTask { (n, await evaluate(config, data, control, shared: shared)) }
                next += 1
            }
            while next < count && next < workers { add() }
            while let (n, evaluation) = try await group.next() {
                if control.stopReason == nil && next < count { add() }
                try await each(n, evaluation)
            }
        }
    }

    /// One combination through the engine over the shared data, its trades and equity
    /// dropped as they come (only the statistics are kept).
    static func evaluate(
        _ config: BacktestConfig, _ data: SweepData, _ control: RunControl, shared: SharedColumns? = nil
    ) async -> Evaluation {
        let engine: Engine
        do {
            engine = try Engine(config: config, shared: shared)
        } catch {
            return .failed("strategy: \(error.description)")
        }
        do {
            let finished: Bool
            switch data {
            case .candles(let rows):
                finished = try await feed(rows, control) { slice throws in
                    try engine.process(candles: slice)
                    _ = engine.takeTrades()
                    _ = engine.takeEquity()
                }
            case .ticks(let rows):
                finished = try await feed(rows, control) { slice throws in
                    try engine.process(ticks: slice)
                    _ = engine.takeTrades()
                    _ = engine.takeEquity()
                }
            }
            return finished ? .statistics(engine.finish()) : .stopped
        } catch {
            return .failed(describe(error))
        }
    }

    /// Feeds `rows` in slices, yielding at least every 2 ms of work; false when a stop
    /// (or a cancellation) came first.
    static func feed<Row>(
        _ rows: [Row], _ control: RunControl, _ body: (UnsafeBufferPointer<Row>) throws -> Void
    ) async throws -> Bool {
        var lastYield = ContinuousClock.now
        var i = 0
        while i < rows.count {
            // A stop, or the job giving up (a store failure cancels the group's tasks).
            if control.stopReason != nil || Task.isCancelled { return false }
            let k = min(i + slice, rows.count)
            try rows.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[i..<k])) }
            i = k
            if ContinuousClock.now - lastYield >= .milliseconds(2) {
                await Task.yield()
                lastYield = ContinuousClock.now
            }
        }
        return (control.stopReason == nil && !Task.isCancelled) || rows.isEmpty
    }

    // MARK: The best, in full

    /// Runs the best combinations again, storing their trades and equity curves as
    /// completed sessions labelled with the sweep, and links each row to its session.
    /// Returns a stop if one came meanwhile.
    private mutating func keepBest(_ data: SweepData) async throws -> Outcome? {
        let spec = plan.request.base
        for rank in top.entries.indices {
            if let reason = control.stopReason { return .stopped(reason) }
            let row = top.entries[rank].row
            let config = SweepRequest.config(spec.config, row.params)
            let id = UUID().uuidString.lowercased()
            let engine = try Engine(config: config)
            var writer = ResultWriter(store: store, sessionId: id, retryBudget: retryBudget)
            let started = clock.wallMicros
            var simTime = spec.range.start
            switch data {
            case .candles(let rows):
                let interval: Int64
                if case .candles(let seconds) = spec.timeframe { interval = seconds * 1_000_000 } else { interval = 0 }
                for start in stride(from: 0, to: rows.count, by: Self.slice) {
                    let end = min(start + Self.slice, rows.count)
                    try rows.withUnsafeBufferPointer {
                        try engine.process(candles: UnsafeBufferPointer(rebasing: $0[start..<end]))
                    }
                    try await writer.add(trades: engine.takeTrades(), equity: engine.takeEquity())
                    simTime = min(rows[end - 1].time + interval, spec.range.end)
                }
            case .ticks(let rows):
                for start in stride(from: 0, to: rows.count, by: Self.slice) {
                    let end = min(start + Self.slice, rows.count)
                    try rows.withUnsafeBufferPointer {
                        try engine.process(ticks: UnsafeBufferPointer(rebasing: $0[start..<end]))
                    }
                    try await writer.add(trades: engine.takeTrades(), equity: engine.takeEquity())
                    simTime = rows[end - 1].time
                }
            }
            let statistics = engine.finish()
            try await writer.add(trades: engine.takeTrades(), equity: engine.takeEquity())
            try await writer.finish()
            if statistics != row.statistics {
                // Determinism says this cannot happen; the stored row stays the sweep's own.
                logger.error(
                    "a best combination's full run differs from its sweep row",
                    metadata: ["sweep": "\(record.id)", "combination": "\(row.combination)"])
            }
            var labels = spec.labels
            labels["sweep"] = record.id
            labels["sweep_rank"] = String(rank + 1)
            let session = SessionRecord(
                id: id, state: .completed, symbol: spec.symbol, timeframe: spec.timeframe.description,
                range: spec.range, strategyName: spec.strategyName, accelerationFactor: 0,
                request: plan.request.sessionRequest(row.params), labels: labels, progressPct: 100,
                simTime: min(max(simTime, statistics.end), spec.range.end), eventsProcessed: UInt64(data.count),
                finalPnl: statistics.finalPnl, totalTrades: UInt64(max(0, statistics.totalTrades)),
                winRatePct: statistics.winRatePct, statistics: statistics, createdAt: started, startedAt: started,
                completedAt: clock.wallMicros)
            try await StoreRetry.run(budget: retryBudget) { [store] in try await store.saveSession(session) }
            top.setSession(id, at: rank)
            try await save([top.entries[rank].row])
        }
        return nil
    }

    // MARK: Progress and the end

    func event(_ kind: RunProgress.Kind) -> SweepProgress {
        var e = SweepProgress(sweepId: record.id, kind: kind, state: record.state, total: record.total)
        e.windows = plan.walkForward?.windows.count ?? 0
        e.window = window
        e.done = record.done
        e.failed = record.failed
        e.best = top.best?.row
        e.bestValue = top.best?.value ?? .nan
        e.wallTime = clock.wallMicros
        let elapsed = clock.now - wallStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        if record.done > 0 && seconds > 0 {
            e.combinationsPerSecond = Double(record.done) / seconds
            let left = Double(record.total - min(record.done, record.total))
            e.eta = .nanoseconds(Int64(left / e.combinationsPerSecond * 1e9))
        }
        return e
    }

    /// Saves and announces the terminal state.
    private mutating func end(_ outcome: Outcome) async -> SweepRecord {
        record.completedAt = clock.wallMicros
        noteBest()
        switch outcome {
        case .completed: record.state = .completed
        case .stopped(let reason):
            record.state = .stopped
            record.stopReason = reason
        case .failed(let message):
            record.state = .failed
            record.errorMessage = message
        }
        var terminal = event(.terminal)
        terminal.errorMessage = record.errorMessage
        terminal.stopReason = record.stopReason
        terminal.eta = .zero
        do {
            try await StoreRetry.run(budget: retryBudget) { [record, store] in try await store.saveSweep(record) }
            // Read-your-writes: whoever sees the terminal event can read every row.
            try await store.sync()
            terminalStored = true
        } catch {
            logger.error(
                "sweep's terminal state not yet readable in the store",
                metadata: ["sweep": "\(record.id)", "error": "\(error)"])
        }
        var metadata: Logger.Metadata = [
            "sweep": "\(record.id)", "status": "\(record.state.rawValue)", "combinations": "\(record.total)",
            "done": "\(record.done)", "failed": "\(record.failed)", "seconds": "\(clock.now - wallStart)",
        ]
        if !doneByNode.isEmpty {
            metadata["nodes"] =
                "\(doneByNode.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))"
        }
        logger.info("sweep ended", metadata: metadata)
        hub.publish(terminal)
        return record
    }
}
