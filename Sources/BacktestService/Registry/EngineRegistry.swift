import BacktestEngine
import BacktestProto
import BacktestStore
import Foundation
import Logging
import RPC

/// Owns the sessions of this process: validates and admits new ones, runs at most
/// `maxRunning` at once with the rest waiting in STARTED (up to `maxQueued`), stops
/// them, and answers what is active. Every `await` inside may interleave with other
/// calls, so state is re-checked after each one.
public actor EngineRegistry {
    public struct Limits: Sendable {
        /// Sessions running at once; the rest wait in STARTED.
        public var maxRunning: Int
        /// Sessions waiting; beyond this StartBacktest is RESOURCE_EXHAUSTED.
        public var maxQueued: Int
        /// How long a run retries a store that is unavailable before it fails (long
        /// enough to wait out a store restart: a stopped run can be stopped).
        public var storeRetryBudget: Duration

        public init(maxRunning: Int = ProcessInfo.processInfo.activeProcessorCount, maxQueued: Int = 64,
                    storeRetryBudget: Duration = .seconds(120)) {
            self.maxRunning = max(1, maxRunning)
            self.maxQueued = max(0, maxQueued)
            self.storeRetryBudget = storeRetryBudget
        }
    }

    /// What a watcher gets: a live session's hub, or an ended session's record.
    enum WatchSource {
        case live(ProgressHub, SessionRecord)
        case ended(SessionRecord)
    }

    private struct Entry {
        var record: SessionRecord
        let spec: RunSpec
        let hub: ProgressHub
        let control = RunControl()
        var task: Task<Void, Never>?
    }

    public static let interruptedMessage = "interrupted: server stopped before completion"

    let store: any BacktestStore
    let limits: Limits
    let logger: Logger
    private var entries: [String: Entry] = [:]
    private var queue: [String] = []
    private var running = 0
    private var byRequestId: [String: String] = [:]
    /// Terminal records whose save failed (the store was down), so this process still
    /// answers for them; bounded.
    private var unsaved: [String: SessionRecord] = [:]
    private var accepting = true

    public init(store: any BacktestStore, limits: Limits = Limits(), logger: Logger = Logger(label: "backtest.registry")) {
        self.store = store
        self.limits = limits
        self.logger = logger
    }

    /// Start-up recovery: sessions a previous process left STARTED or RUNNING did not
    /// finish and never will; they become FAILED with the reason. Returns how many.
    @discardableResult
    public func recoverInterrupted() async throws -> Int {
        let left = try await store.sessions(in: [.started, .running])
        var count = 0
        for var r in left where entries[r.id] == nil {
            r.state = .failed
            r.errorMessage = Self.interruptedMessage
            r.completedAt = WallClock.nowMicros()
            try await store.saveSession(r)
            count += 1
        }
        if count > 0 { logger.warning("marked interrupted sessions failed", metadata: ["count": "\(count)"]) }
        return count
    }

    // MARK: Start

    func start(_ request: StartBacktestRequest) async throws -> StartBacktestResponse {
        guard accepting else { throw RPCError(.unavailable, "the server is shutting down") }
        let spec = try StartRequestValidator.validate(request)
        let fingerprint = try spec.accepted.serializedBytes()

        if !spec.clientRequestId.isEmpty {
            if let existing = try await existingSession(for: spec.clientRequestId) {
                return try dedupe(existing, fingerprint: fingerprint)
            }
        }
        try await requireData(spec)

        // No await from here to the insertion: the checks and the admission are atomic.
        guard accepting else { throw RPCError(.unavailable, "the server is shutting down") }
        if !spec.clientRequestId.isEmpty, let id = byRequestId[spec.clientRequestId], let e = entries[id] {
            return try dedupe(e.record, fingerprint: fingerprint)
        }
        if running >= limits.maxRunning && queue.count >= limits.maxQueued {
            throw RPCError(.resourceExhausted, "too many sessions: \(running) running and \(queue.count) waiting (the limit is \(limits.maxQueued) waiting); retry later")
        }
        let id = UUID().uuidString.lowercased()
        let now = WallClock.nowMicros()
        let record = SessionRecord(
            id: id, state: .started, symbol: spec.symbol, timeframe: spec.timeframe.description, range: spec.range,
            strategyName: spec.strategyName, accelerationFactor: spec.accelerationFactor, request: fingerprint,
            clientRequestId: spec.clientRequestId, labels: spec.labels, createdAt: now)
        var initial = ProgressEvent()
        initial.sessionID = id
        initial.kind = .update
        initial.status = .started
        initial.equity = spec.config.initialCapital
        initial.cash = spec.config.initialCapital
        initial.wallTime = ProtoTimestamp(microsecondsSinceEpoch: now)
        entries[id] = Entry(record: record, spec: spec, hub: ProgressHub(initial: initial))
        if !spec.clientRequestId.isEmpty { byRequestId[spec.clientRequestId] = id }
        queue.append(id)

        do {
            try await StoreRetry.run(budget: .seconds(2)) { try await store.saveSession(record) }
        } catch {
            entries[id] = nil
            queue.removeAll { $0 == id }
            if byRequestId[spec.clientRequestId] == id { byRequestId[spec.clientRequestId] = nil }
            throw RPCError(.unavailable, "the session could not be stored: \(error)")
        }
        logger.info("session started", metadata: [
            "session": "\(id)", "symbol": "\(spec.symbol)", "timeframe": "\(spec.timeframe)",
            "strategy": "\(spec.strategyName)", "acceleration": "\(spec.accelerationFactor)",
        ])
        launchWaiting()
        return StartBacktestResponse(sessionID: id, status: .started, deduplicated: false,
                                     createdAt: ProtoTimestamp(microsecondsSinceEpoch: now))
    }

    private func existingSession(for clientRequestId: String) async throws -> SessionRecord? {
        if let id = byRequestId[clientRequestId], let e = entries[id] { return e.record }
        do {
            return try await store.session(clientRequestId: clientRequestId)
        } catch {
            throw RPCError(.unavailable, "the store cannot be read: \(error)")
        }
    }

    private func dedupe(_ existing: SessionRecord, fingerprint: [UInt8]) throws -> StartBacktestResponse {
        guard existing.request == fingerprint else {
            throw RPCError(.alreadyExists, "client_request_id: already used by session \(existing.id) with a different request")
        }
        let state = entries[existing.id]?.record.state ?? existing.state
        return StartBacktestResponse(sessionID: existing.id, status: ProtoMapping.status(state), deduplicated: true,
                                     createdAt: ProtoTimestamp(microsecondsSinceEpoch: existing.createdAt))
    }

    /// FAILED_PRECONDITION unless stored data of the right kind overlaps the range.
    private func requireData(_ spec: RunSpec) async throws {
        let series: [MarketSeries]
        do {
            series = try await store.marketSeries(symbol: spec.symbol)
        } catch {
            throw RPCError(.unavailable, "the store cannot be read: \(error)")
        }
        let wanted = spec.timeframe.description
        let usable = series.filter { s in
            guard s.symbol == spec.symbol, s.rows > 0, s.firstTime < spec.range.end, s.lastTime >= spec.range.start else { return false }
            switch spec.timeframe {
            case .tick: return s.kind == .ticks
            case .candles: return s.kind == .ticks || (s.kind == .candles && s.timeframe == wanted)
            }
        }
        guard usable.isEmpty else { return }
        let what = spec.timeframe == .tick ? "ticks" : "\(wanted) candles (or ticks to build them from)"
        let stored = series.isEmpty ? "nothing is stored for it"
            : "stored: " + series.map { "\($0.kind == .ticks ? "ticks" : $0.timeframe) \(TimeText.range($0.firstTime, $0.lastTime + 1))" }.joined(separator: ", ")
        throw RPCError(.failedPrecondition, "no market data for symbol \"\(spec.symbol)\": no \(what) in \(TimeText.range(spec.range.start, spec.range.end)); \(stored)")
    }

    /// Starts waiting sessions while there are free slots.
    private func launchWaiting() {
        while running < limits.maxRunning, accepting, !queue.isEmpty {
            let id = queue.removeFirst()
            guard var entry = entries[id] else { continue }
            running += 1
            var run = BacktestRun(spec: entry.spec, store: store, hub: entry.hub, control: entry.control,
                                  logger: logger, record: entry.record)
            run.retryBudget = limits.storeRetryBudget
            entry.record.state = .running
            // Detached: the run must not inherit this actor. Low priority: RPC handlers
            // come first when both want the cores.
            entry.task = Task.detached(priority: .background) { [weak self, run] in
                var run = run
                let final = await run.execute()
                await self?.finished(id, final, stored: run.terminalStored)
            }
            entries[id] = entry
        }
    }

    private func finished(_ id: String, _ record: SessionRecord, stored: Bool) {
        // Keep the final record if the store cannot show it yet.
        if !stored { keepUnsaved(record) }
        running -= 1
        entries[id] = nil
        if byRequestId[record.clientRequestId] == id { byRequestId[record.clientRequestId] = nil }
        launchWaiting()
    }

    /// A terminal record the store did not take, answered from memory (bounded).
    private func keepUnsaved(_ record: SessionRecord) {
        if unsaved.count >= 10_000, let any = unsaved.keys.first { unsaved[any] = nil }
        unsaved[record.id] = record
    }

    // MARK: Stop

    func stop(_ id: String, reason: String) async throws -> StopBacktestResponse {
        let why = reason.isEmpty ? "stopped by request" : reason
        if let entry = entries[id] {
            if let position = queue.firstIndex(of: id) {
                // Waiting: it ends here, without ever running.
                queue.remove(at: position)
                await endWaiting(id, entry, reason: why)
                return StopBacktestResponse(sessionID: id, status: .stopped, alreadyEnded: false)
            }
            entry.control.requestStop(why)
            await entry.task?.value
            let state = try await record(id)?.state ?? .stopped
            // A run that reached its end first answers with how it ended.
            return StopBacktestResponse(sessionID: id, status: ProtoMapping.status(state), alreadyEnded: state != .stopped)
        }
        guard let record = try await record(id) else { throw RPCError(.notFound, "session_id: no session \"\(id)\"") }
        return StopBacktestResponse(sessionID: id, status: ProtoMapping.status(record.state), alreadyEnded: true)
    }

    private func endWaiting(_ id: String, _ entry: Entry, reason: String) async {
        var record = entry.record
        record.state = .stopped
        record.stopReason = reason
        record.completedAt = WallClock.nowMicros()
        entries[id] = nil
        if byRequestId[record.clientRequestId] == id { byRequestId[record.clientRequestId] = nil }
        do {
            try await StoreRetry.run(budget: .seconds(2)) { [record, store] in try await store.saveSession(record) }
        } catch {
            keepUnsaved(record)
        }
        var terminal = entry.hub.latest
        terminal.kind = .terminal
        terminal.status = .stopped
        terminal.stopReason = reason
        terminal.wallTime = ProtoTimestamp(microsecondsSinceEpoch: WallClock.nowMicros())
        entry.hub.publish(terminal)
    }

    // MARK: Queries

    /// The session's current record: live progress for an active one, else the store's.
    func record(_ id: String) async throws -> SessionRecord? {
        if let e = entries[id] { return Self.live(e) }
        if let r = unsaved[id] { return r }
        do {
            return try await store.session(id: id)
        } catch {
            throw RPCError(.unavailable, "the store cannot be read: \(error)")
        }
    }

    /// Live records of those of `ids` that are active here (one call for a page).
    func liveRecords(_ ids: [String]) -> [String: SessionRecord] {
        var found: [String: SessionRecord] = [:]
        for id in ids {
            if let e = entries[id] { found[id] = Self.live(e) } else if let r = unsaved[id] { found[id] = r }
        }
        return found
    }

    func active(symbol: String) -> [ActiveSession] {
        entries.values
            .filter { symbol.isEmpty || $0.record.symbol == symbol }
            .sorted { ($0.record.createdAt, $0.record.id) < ($1.record.createdAt, $1.record.id) }
            .map { e in
                let live = Self.live(e)
                return ActiveSession(sessionID: live.id, status: ProtoMapping.status(live.state), symbol: live.symbol,
                                     timeframe: live.timeframe, strategyName: live.strategyName,
                                     createdAt: ProtoTimestamp(microsecondsSinceEpoch: live.createdAt),
                                     progress: e.hub.latest, labels: live.labels)
            }
    }

    func watchSource(_ id: String) async throws -> WatchSource? {
        if let e = entries[id] { return .live(e.hub, Self.live(e)) }
        return try await record(id).map { .ended($0) }
    }

    /// An active record with the hub's latest progress folded in.
    private static func live(_ e: Entry) -> SessionRecord {
        var r = e.record
        let p = e.hub.latest
        if let s = ProtoMapping.state(p.status) { r.state = s }
        r.progressPct = p.progressPct
        r.simTime = p.simTime?.microsecondsSinceEpoch
        r.eventsProcessed = p.eventsProcessed
        r.totalTrades = p.trades
        r.finalPnl = p.equity - e.spec.config.initialCapital
        return r
    }

    // MARK: Shutdown

    /// Refuses new sessions, stops every active one with `reason` stored, and waits
    /// for their runs to end. No session is left RUNNING.
    public func shutdown(reason: String = "server shutting down") async {
        accepting = false
        let waiting = queue
        queue.removeAll()
        for id in waiting {
            if let e = entries[id] { await endWaiting(id, e, reason: reason) }
        }
        let runs = entries.values.compactMap { e -> Task<Void, Never>? in
            e.control.requestStop(reason)
            return e.task
        }
        for t in runs { await t.value }
    }
}
