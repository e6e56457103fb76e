import BacktestEngine
import BacktestStore
import Foundation
import Logging

/// Owns the sweeps of this process: checks and expands new ones, runs at most
/// `maxRunning` at once (each on up to `workers` cores) with the rest waiting in
/// STARTED, stops them, and answers for them (docs/DESIGN.md section 13). Sweeps do not
/// take sessions' run slots; both run at background priority and share the cores.
public actor SweepRegistry {
    public struct Limits: Sendable {
        /// Combinations one sweep may have (after constraints, or its sample size).
        public var maxCombinations: Int
        /// Sweeps running at once; the rest wait in STARTED.
        public var maxRunning: Int
        /// Sweeps waiting; beyond this StartSweep is RESOURCE_EXHAUSTED.
        public var maxQueued: Int
        /// Combinations a sweep computes at once.
        public var workers: Int
        /// The most best combinations kept in full.
        public var maxTopK: Int
        /// How long a sweep retries a store that is unavailable before it fails.
        public var storeRetryBudget: Duration
        /// Bytes of indicator columns a sweep keeps to share between its combinations
        /// (0: none shared, each combination computes its own).
        public var sharedColumnBytes: Int

        public init(
            maxCombinations: Int = 1_000_000, maxRunning: Int = 1, maxQueued: Int = 16,
            workers: Int = ProcessInfo.processInfo.activeProcessorCount, maxTopK: Int = 100,
            storeRetryBudget: Duration = .seconds(120), sharedColumnBytes: Int = 256 << 20
        ) {
            self.maxCombinations = max(1, maxCombinations)
            self.maxRunning = max(1, maxRunning)
            self.maxQueued = max(0, maxQueued)
            self.workers = max(1, workers)
            self.maxTopK = max(1, maxTopK)
            self.storeRetryBudget = storeRetryBudget
            self.sharedColumnBytes = max(0, sharedColumnBytes)
        }

        /// Grids up to this size are listed to apply constraints; larger ones only
        /// sampled.
        var maxEnumerated: Int {
            maxCombinations.multipliedReportingOverflow(by: 10).overflow ? .max : maxCombinations * 10
        }
    }

    /// How StartSweep was answered.
    public struct Started: Sendable {
        public var sweepId: String
        public var state: SessionState
        public var total: UInt64
        public var createdAt: Int64
    }

    /// How StopSweep was answered.
    public struct Stopped: Sendable {
        public var sweepId: String
        public var state: SessionState
        public var alreadyEnded: Bool
    }

    /// How DeleteSweep was answered: the sweep as it was, and the sessions that went
    /// with it.
    public struct Deleted: Sendable {
        public var record: SweepRecord
        public var sessionIds: [String]
    }

    struct Entry {
        var record: SweepRecord
        let plan: SweepPlan
        let hub: ProgressHub<SweepProgress>
        let control = RunControl()
        var task: Task<Void, Never>?
        /// Taken over from a coordinator that died.
        var adopted = false
    }

    public nonisolated let store: any BacktestStore
    let limits: Limits
    let clock: any ServiceClock
    let logger: Logger
    /// The other nodes: sweeps' combinations go to every node as shards.
    let cluster: (any SweepCluster)?
    /// This node's share of every node's sweeps (with a cluster).
    let worker: ShardWorker?
    let decode: RequestDecoder?
    var entries: [String: Entry] = [:]
    /// Each sweep's progress to the other nodes, until its end is out (with a cluster).
    var relays: [String: Task<Void, Never>] = [:]
    private var queue: [String] = []
    private var running = 0
    /// Terminal records the store did not take, answered from memory (bounded).
    private var unsaved: [String: SweepRecord] = [:]
    /// The STOPPED save of a waiting sweep that was stopped, while in flight: a delete
    /// waits for it (landing after the delete, it would bring the sweep back).
    private var saving: [String: Task<Bool, Never>] = [:]
    /// Sweeps being deleted, with the deletes of the same sweep waiting their turn.
    private var deleting: [String: [CheckedContinuation<Void, Never>]] = [:]
    var accepting = true

    /// The request a sweep was started with, from its encoded form (the protocol
    /// layer's): how a node computes shards of another node's sweep.
    public typealias RequestDecoder = @Sendable ([UInt8]) throws(ServiceError) -> SweepRequest

    /// With `cluster`, sweeps are spread over its nodes and this node computes shards
    /// of theirs (`decode` reads their requests) once it has joined (`joinCluster`,
    /// `startComputingShards`).
    public init(
        store: any BacktestStore, limits: Limits = Limits(), clock: any ServiceClock = SystemClock(),
        logger: Logger = Logger(label: "backtest.sweeps"), cluster: (any SweepCluster)? = nil,
        decode: RequestDecoder? = nil
    ) {
        self.store = store
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.cluster = cluster
        self.decode = decode
        worker = cluster.flatMap { cluster in
            decode.map { ShardWorker(cluster: cluster, store: store, limits: limits, decode: $0, logger: logger) }
        }
    }

    /// Start-up recovery: sweeps a previous process left STARTED or RUNNING become
    /// FAILED, but for those the cluster's broker holds open: a live node coordinates
    /// them, or this node takes them over on joining (a node restarted within its
    /// lease goes on with its sweeps). A store without sweeps has none. Returns how
    /// many failed.
    @discardableResult
    public func recoverInterrupted() async throws -> Int {
        let left: [SweepRecord]
        do {
            left = try await store.sweeps(in: [.started, .running])
        } catch StoreError.unsupported {
            return 0
        }
        var count = 0
        for var r in left where entries[r.id] == nil {
            if let cluster, await cluster.isOpen(r.id) {
                logger.info("an interrupted sweep is left to the cluster", metadata: ["sweep": "\(r.id)"])
                continue
            }
            r.state = .failed
            r.errorMessage = EngineRegistry.interruptedMessage
            r.completedAt = clock.wallMicros
            try await store.saveSweep(r)
            count += 1
        }
        if count > 0 { logger.warning("marked interrupted sweeps failed", metadata: ["count": "\(count)"]) }
        return count
    }

    // MARK: Start

    /// Admits a sweep: checks the base request and the axes, expands the combinations,
    /// checks that data exists, stores the sweep STARTED and runs it when a slot is
    /// free. Returns at once.
    public func start(_ request: SweepRequest) async throws(ServiceError) -> Started {
        guard accepting else { throw ServiceError(.unavailable, "the server is shutting down") }
        let request = try Self.accepted(request)
        let spec = request.base
        let plan = try SweepPlan(request, limits: limits)
        try await EngineRegistry.requireData(spec, in: store)

        guard accepting else { throw ServiceError(.unavailable, "the server is shutting down") }
        if running >= limits.maxRunning && queue.count >= limits.maxQueued {
            throw ServiceError(
                .resourceExhausted,
                "too many sweeps: \(running) running and \(queue.count) waiting (the limit is \(limits.maxQueued) waiting); retry later"
            )
        }
        let id = UUID().uuidString.lowercased()
        let now = clock.wallMicros
        let record = SweepRecord(
            id: id, state: .started, symbol: spec.symbol, timeframe: spec.timeframe.description, range: spec.range,
            strategyName: spec.strategyName, request: request.encoded, objective: plan.objective.name,
            maximize: request.maximize, total: UInt64(plan.runs), topK: plan.topK, createdAt: now)
        // The sweep exists once stored: a store without sweeps refuses here.
        do {
            try await StoreRetry.run(budget: .seconds(2)) { try await store.saveSweep(record) }
        } catch StoreError.unsupported(let message) {
            throw ServiceError(.unimplemented, message)
        } catch {
            throw ServiceError(.unavailable, "the sweep could not be stored: \(error)", cause: error)
        }
        // With other nodes, readable through any of them once StartSweep has answered
        // (another node reads the store, which shows a write once it is applied).
        if cluster != nil { try? await store.sync() }
        var initial = SweepProgress(sweepId: id, state: .started, total: record.total)
        initial.wallTime = now
        initial.windows = plan.walkForward?.windows.count ?? 0
        entries[id] = Entry(record: record, plan: plan, hub: ProgressHub(initial: initial, clock: clock))
        startRelay(id)
        queue.append(id)
        logger.info(
            "sweep started",
            metadata: [
                "sweep": "\(id)", "symbol": "\(spec.symbol)", "strategy": "\(spec.strategyName)",
                "combinations": "\(plan.count)", "objective": "\(plan.objective.name)", "workers": "\(plan.workers)",
            ])
        launchWaiting()
        return Started(sweepId: id, state: .started, total: record.total, createdAt: now)
    }

    /// The base request checked (defaults filled in), with what sweeps refuse.
    static func accepted(_ request: SweepRequest) throws(ServiceError) -> SweepRequest {
        var request = request
        do {
            request.base = try request.base.validated()
        } catch {
            throw ServiceError(error.kind, field: error.field.map { "backtest.\($0)" } ?? "backtest", error.reason)
        }
        guard request.base.accelerationFactor == 0 else {
            throw .invalid("backtest.acceleration_factor", "sweeps run as fast as possible: leave it 0")
        }
        guard request.base.clientRequestId.isEmpty else {
            throw .invalid("backtest.client_request_id", "sweeps do not deduplicate requests: leave it empty")
        }
        return request
    }

    private func launchWaiting() {
        while running < limits.maxRunning, accepting, !queue.isEmpty {
            launch(queue.removeFirst())
        }
    }

    func launch(_ id: String) {
        guard var entry = entries[id] else { return }
        running += 1
        // An adopted sweep keeps the start its first coordinator gave it.
        entry.record.startedAt = entry.record.startedAt ?? clock.wallMicros
        entry.record.state = .running
        var job = SweepJob(
            plan: entry.plan, store: store, hub: entry.hub, control: entry.control, clock: clock, logger: logger,
            record: entry.record)
        job.retryBudget = limits.storeRetryBudget
        job.cluster = cluster
        job.adopted = entry.adopted
        // Detached and at background priority, as sessions' runs: RPC handlers first.
        entry.task = Task.detached(priority: .background) { [weak self, job] in
            var job = job
            let final = await job.execute()
            await self?.finished(id, final, stored: job.terminalStored)
        }
        entries[id] = entry
    }

    private func finished(_ id: String, _ record: SweepRecord, stored: Bool) {
        if !stored { keepUnsaved(record) }
        running -= 1
        entries[id] = nil
        launchWaiting()
    }

    private func keepUnsaved(_ record: SweepRecord) {
        if unsaved.count >= 10_000, let any = unsaved.keys.first { unsaved[any] = nil }
        unsaved[record.id] = record
    }

    // MARK: Stop

    /// Stops a sweep (idempotent): a waiting one ends at once; a running one stops
    /// computing, keeps the rows done and ends STOPPED. One that ended first answers
    /// with how it ended.
    public func stop(_ id: String, reason: String) async throws(ServiceError) -> Stopped {
        let why = reason.isEmpty ? "stopped by request" : reason
        if let entry = entries[id] {
            if let position = queue.firstIndex(of: id) {
                queue.remove(at: position)
                await endWaiting(id, entry, reason: why)
                return Stopped(sweepId: id, state: .stopped, alreadyEnded: false)
            }
            entry.control.requestStop(why)
            await entry.task?.value
            let state = try await record(id)?.state ?? .stopped
            return Stopped(sweepId: id, state: state, alreadyEnded: state != .stopped)
        }
        if let stopped = try await stopElsewhere(id, reason: why) { return stopped }
        guard let record = try await record(id) else { throw Self.noSweep(id) }
        return Stopped(sweepId: id, state: record.state, alreadyEnded: true)
    }

    private func endWaiting(_ id: String, _ entry: Entry, reason: String) async {
        var record = entry.record
        record.state = .stopped
        record.stopReason = reason
        record.completedAt = clock.wallMicros
        keepUnsaved(record)
        entries[id] = nil
        let save = Task { [record, store] in
            (try? await StoreRetry.run(budget: .seconds(2)) { try await store.saveSweep(record) }) != nil
        }
        saving[id] = save
        let saved = await save.value
        saving[id] = nil
        if saved, unsaved[id] == record { unsaved[id] = nil }
        var terminal = entry.hub.latest
        terminal.kind = .terminal
        terminal.state = .stopped
        terminal.stopReason = reason
        terminal.wallTime = clock.wallMicros
        terminal.eta = .zero
        entry.hub.publish(terminal)
    }

    // MARK: Delete

    /// Deletes an ended sweep: first the sessions it stored (labelled sweep=ID, through
    /// the sessions' own deletion, trades and equity curves with them) unless
    /// `keepSessions`, then its record, rows and windows. A sweep that waits or runs is
    /// FAILED_PRECONDITION (stop it first); one that has just ended is deleted once its
    /// job has handed it back. Deleting again is NOT_FOUND (docs/DESIGN.md section 13.6).
    public func delete(
        _ id: String, keepSessions: Bool, sessions: EngineRegistry
    ) async throws(ServiceError) -> Deleted {
        // One deletion of a sweep at a time: the next one then finds it gone.
        while deleting[id] != nil {
            await withCheckedContinuation { deleting[id, default: []].append($0) }
        }
        deleting[id] = []
        defer {
            for waiter in deleting.removeValue(forKey: id) ?? [] { waiter.resume() }
        }

        if let entry = entries[id] {
            // Its terminal event is out and the job is handing it back: that is quick.
            guard entry.hub.latest.kind == .terminal, let task = entry.task else {
                throw Self.notEnded(id, entry.hub.latest.state)
            }
            await task.value
        }
        if let save = saving[id] { _ = await save.value }
        guard let record = try await record(id) else { throw Self.noSweep(id) }
        // Live on another server sharing the store, or left unfinished by one.
        guard record.state.isTerminal else { throw Self.notEnded(id, record.state) }
        // Sessions first: should the sweep's deletion then fail, a retry finds the
        // sweep and finishes; the other way round its sessions would be left behind.
        var gone: [String] = []
        if !keepSessions {
            let owned = try await sessionIds(of: id)
            let deleted = try await sessions.deleteEnded(owned)
            gone = owned.filter(deleted.contains)
        }
        let deleted = try await ServiceError.storeCall { try await store.deleteSweeps(ids: [id]) }
        let inMemory = unsaved.removeValue(forKey: id) != nil
        guard deleted.contains(id) || inMemory else { throw Self.noSweep(id) }
        logger.info(
            "sweep deleted",
            metadata: ["sweep": "\(id)", "status": "\(record.state.rawValue)", "sessions": "\(gone.count)"])
        return Deleted(record: record, sessionIds: gone)
    }

    /// Deletes those of `ids` that have ended, with their sessions, skipping (never
    /// waiting for) any that is live or being deleted: retention's batch form. Returns
    /// the ids deleted and how many sessions went with them.
    public func deleteEnded(
        _ ids: [String], sessions: EngineRegistry
    ) async throws(ServiceError) -> (sweeps: Set<String>, sessions: Int) {
        let candidates = ids.filter { entries[$0] == nil && saving[$0] == nil && deleting[$0] == nil }
        guard !candidates.isEmpty else { return ([], 0) }
        for id in candidates { deleting[id] = [] }
        defer {
            for id in candidates {
                for waiter in deleting.removeValue(forKey: id) ?? [] { waiter.resume() }
            }
        }
        var owned: [String] = []
        for id in candidates { owned += try await sessionIds(of: id) }
        let sessionsGone = owned.isEmpty ? 0 : try await sessions.deleteEnded(owned).count
        let deleted = try await ServiceError.storeCall { try await store.deleteSweeps(ids: candidates) }
        for id in candidates { unsaved[id] = nil }
        return (deleted, sessionsGone)
    }

    /// The sessions a sweep stored: those labelled sweep=ID (its best combinations', a
    /// walk-forward's stitched one; labelled before the rows link them, so none is
    /// missed).
    func sessionIds(of id: String) async throws(ServiceError) -> [String] {
        var query = SessionQuery()
        query.labels = ["sweep": id]
        query.pageSize = 1000
        var ids: [String] = []
        while true {
            let page = try await ServiceError.storeCall { try await store.listSessions(query) }
            ids += page.sessions.map(\.id)
            guard !page.nextPageToken.isEmpty else { return ids }
            query.pageToken = page.nextPageToken
        }
    }

    private static func notEnded(_ id: String, _ state: SessionState) -> ServiceError {
        ServiceError(
            .failedPrecondition, field: "sweep_id",
            "sweep \"\(id)\" is \(state.rawValue): stop it first (StopSweep), then delete it")
    }

    // MARK: Queries

    public static func noSweep(_ id: String) -> ServiceError {
        ServiceError(.notFound, field: "sweep_id", "no sweep \"\(id)\"")
    }

    /// The sweep's current record: live counts for an active one, else the store's.
    public func record(_ id: String) async throws(ServiceError) -> SweepRecord? {
        if let e = entries[id] {
            // Once the terminal event is out, the stored record is complete (a
            // walk-forward's stitched result is only there).
            if e.hub.latest.kind == .terminal,
                let stored = try await ServiceError.storeCall({ try await store.sweep(id: id) }),
                stored.state.isTerminal
            {
                return stored
            }
            return Self.live(e)
        }
        if let r = unsaved[id] { return r }
        let stored = try await ServiceError.storeCall { try await store.sweep(id: id) }
        return await liveElsewhere(id, stored: stored) ?? stored
    }

    /// A walk-forward's windows stored so far, by index (none for a plain sweep).
    public func walkForwardWindows(_ id: String) async throws(ServiceError) -> [WalkForwardWindowRow] {
        guard try await record(id) != nil else { throw Self.noSweep(id) }
        return try await ServiceError.storeCall { try await store.walkForwardWindows(sweepId: id) }
    }

    /// A page of stored sweeps, newest first; active ones with live counts.
    public func list(_ query: SweepQuery) async throws(ServiceError) -> SweepPage {
        var page = try await ServiceError.storeCall { try await store.listSweeps(query) }
        page.sweeps = page.sweeps.map { r in
            guard !r.state.isTerminal else { return r }
            if let e = entries[r.id] { return Self.live(e) }
            return unsaved[r.id] ?? r
        }
        return page
    }

    /// A page of one sweep's results sorted by a statistic (by contract name; empty
    /// means the sweep's objective, in its direction).
    public func results(
        _ id: String, sortBy: String, ascending: Bool?, pageSize: Int, pageToken: String
    ) async throws(ServiceError) -> (SweepRecord, SweepResultPage) {
        guard let record = try await record(id) else { throw Self.noSweep(id) }
        let name = sortBy.isEmpty ? record.objective : sortBy
        guard let statistic = SweepStatistic.named(name) else {
            throw .invalid("sort_by", "unknown statistic \"\(name)\"; one of \(SweepStatistic.names)")
        }
        let descending = ascending.map { !$0 } ?? (sortBy.isEmpty ? record.maximize : true)
        let query = SweepResultQuery(
            sweepId: id, sortKey: statistic.key, descending: descending, pageSize: pageSize, pageToken: pageToken)
        var page = try await ServiceError.storeCall { try await store.sweepResults(query) }
        var shown = record
        // A session deleted on its own (DeleteSession, retention) leaves its row's link
        // behind: the row then shows none rather than an id that is NOT_FOUND.
        var exists: [String: Bool] = [:]
        for id in Set(page.rows.map(\.sessionId) + [record.stitchedSessionId]) where !id.isEmpty {
            exists[id] = try await ServiceError.storeCall { try await store.session(id: id) } != nil
        }
        for i in page.rows.indices where exists[page.rows[i].sessionId] == false { page.rows[i].sessionId = "" }
        if exists[record.stitchedSessionId] == false { shown.stitchedSessionId = "" }
        return (shown, page)
    }

    /// One watch of a sweep: a snapshot, updates at most once per `minInterval` (latest
    /// wins), then the terminal event, exactly once. An ended sweep gets its final
    /// state as snapshot and terminal.
    nonisolated(nonsending) public func watch(
        _ id: String, minInterval: Duration, _ emit: (SweepProgress) async throws -> Void
    ) async throws {
        switch try await watchSource(id) {
        case .live(let hub):
            try await hub.watch(minInterval: minInterval, emit)
        case .elsewhere(let latest):
            try await watchElsewhere(id, from: latest, minInterval: minInterval, emit)
        case .ended(let r, let best, let windows):
            for (kind, sequence) in [(RunProgress.Kind.snapshot, UInt64(0)), (.terminal, 1)] {
                var event = SweepProgress(ended: r, best: best, kind: kind, sequence: sequence)
                event.windows = windows
                event.window = max(0, windows - 1)
                try await emit(event)
            }
        }
    }

    private enum WatchSource {
        case live(ProgressHub<SweepProgress>)
        /// Coordinated by another node: its latest progress.
        case elsewhere(SweepProgress)
        /// The record, the best row, and a walk-forward's windows stored (0 for a sweep).
        case ended(SweepRecord, SweepResultRow?, Int)
    }

    private func watchSource(_ id: String) async throws(ServiceError) -> WatchSource {
        if let e = entries[id] { return .live(e.hub) }
        if let latest = await cluster?.latest(id), latest.kind != .terminal { return .elsewhere(latest) }
        guard let r = try await record(id) else { throw Self.noSweep(id) }
        let best = try await results(id, sortBy: "", ascending: nil, pageSize: 1, pageToken: "").1.rows.first
        let windows = try await walkForwardWindows(id).count
        return .ended(r, best?.statistics == nil ? nil : best, windows)
    }

    static func live(_ e: Entry) -> SweepRecord {
        var r = e.record
        let p = e.hub.latest
        r.state = p.state
        r.done = p.done
        r.failed = p.failed
        r.bestCombination = p.best?.combination
        r.bestValue = p.bestValue
        if p.kind == .terminal {
            r.completedAt = p.wallTime
            r.errorMessage = p.errorMessage
            r.stopReason = p.stopReason
        }
        return r
    }

    // MARK: Shutdown

    /// Refuses new sweeps, stops every active one with `reason` stored, and waits for
    /// their jobs to end.
    public func shutdown(reason: String = "server shutting down") async {
        accepting = false
        // The shard this node computes goes back for another node.
        await worker?.stop()
        let waiting = queue
        queue.removeAll()
        for id in waiting {
            if let e = entries[id] { await endWaiting(id, e, reason: reason) }
        }
        let jobs = entries.values.compactMap { e -> Task<Void, Never>? in
            e.control.requestStop(reason)
            return e.task
        }
        for t in jobs { await t.value }
        // Every sweep's end reaches the other nodes before this one leaves.
        for relay in relays.values { await relay.value }
    }
}
