import BacktestEngine
import BacktestStore
import Foundation
import Logging
import TimeKit

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

        public init(
            maxRunning: Int = ProcessInfo.processInfo.activeProcessorCount, maxQueued: Int = 64,
            storeRetryBudget: Duration = .seconds(120)
        ) {
            self.maxRunning = max(1, maxRunning)
            self.maxQueued = max(0, maxQueued)
            self.storeRetryBudget = storeRetryBudget
        }
    }

    /// How StartBacktest was answered.
    public struct Started: Sendable {
        public var sessionId: String
        public var state: SessionState
        /// The client request id named an existing session; no new one was made.
        public var deduplicated: Bool
        public var createdAt: Int64
    }

    /// A waiting session another node sends here as it is (docs/DESIGN.md section
    /// 15.4): admitted under its id and creation time, the offer `from` made claimed.
    public struct Handover: Sendable, Equatable {
        public var sessionId: String
        public var createdAt: Int64
        /// The node that had it.
        public var from: String

        public init(sessionId: String, createdAt: Int64, from: String) {
            self.sessionId = sessionId
            self.createdAt = createdAt
            self.from = from
        }
    }

    /// Sends a waiting session's request to another node with a free run slot, as a
    /// handover; true when a node admitted it (the protocol layer's placement).
    public typealias Mover = @Sendable (RunRequest, Handover) async -> Bool

    /// How StopBacktest was answered.
    public struct Stopped: Sendable {
        public var sessionId: String
        public var state: SessionState
        /// The session had ended before the request (how it ended is `state`).
        public var alreadyEnded: Bool
    }

    /// An active session: its record with live progress folded in, the latest event,
    /// and what it is waiting for (nil while it computes).
    public struct Active: Sendable, Codable {
        public var record: SessionRecord
        public var progress: RunProgress
        public var waiting: Waiting?

        public init(record: SessionRecord, progress: RunProgress, waiting: Waiting?) {
            self.record = record
            self.progress = progress
            self.waiting = waiting
        }
    }

    public enum Waiting: Sendable, Equatable, Codable {
        /// For a run slot: how many sessions hold one, how many are in line before it.
        case runSlot(running: Int, ahead: Int)
        /// A paced session asleep (holding no slot) until its next data is due.
        case pacing(dueIn: Duration)
    }

    private struct Entry {
        var record: SessionRecord
        let spec: RunRequest
        let hub: ProgressHub<RunProgress>
        let control = RunControl()
        var task: Task<Void, Never>?
        /// Relays the session's events to the other nodes (with a cluster).
        var relay: Task<Void, Never>?
    }

    /// A session another node answers for, watched from here: its events, as they come
    /// from the broker, feed a hub of this node's own, so a watch here behaves as one on
    /// the node that runs it.
    private struct Mirror {
        let hub: ProgressHub<RunProgress>
        var watchers = 0
        /// A session that waited here and moved to another node: its hub (the one its
        /// watchers here hold) is fed from there until its terminal event, watched or not.
        var pinned = false
    }

    public static let interruptedMessage = "interrupted: server stopped before completion"

    public nonisolated let store: any BacktestStore
    let limits: Limits
    let clock: any ServiceClock
    let logger: Logger
    private var entries: [String: Entry] = [:]
    private var queue: [String] = []
    /// Run slots in use: sessions computing (or reading, or writing). A paced session
    /// asleep gives its slot back (`sleeping`) and queues for one when it wakes
    /// (`resuming`, served before sessions that have not started).
    private var running = 0
    private var sleeping: [String: Duration] = [:]
    private var resuming: [(id: String, wake: CheckedContinuation<Void, Never>)] = []
    private var byRequestId: [String: String] = [:]
    /// Terminal records whose save failed (the store was down), so this process still
    /// answers for them; bounded.
    private var unsaved: [String: SessionRecord] = [:]
    /// Terminal saves in flight of sessions stopped while waiting: a deletion waits for
    /// them (the save landing after it would bring the session back).
    private var saving: [String: Task<Bool, Never>] = [:]
    /// Sessions being deleted, with whoever waits to delete them too.
    private var deleting: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var accepting = true
    /// The other nodes sharing the store; nil on a single node.
    public nonisolated let cluster: (any SessionCluster)?
    private var mirrors: [String: Mirror] = [:]
    private var mover: Mover?
    /// The waiting session being sent to another node (one at a time); a stop, an
    /// abandonment or the shutdown waits for the outcome (`untilMoved`).
    private var moving: String?
    private var moveWaiters: [CheckedContinuation<Void, Never>] = []
    /// How often a session's events go to the other nodes at most.
    static let relayInterval = Duration.milliseconds(100)

    public init(
        store: any BacktestStore, limits: Limits = Limits(), clock: any ServiceClock = SystemClock(),
        logger: Logger = Logger(label: "backtest.registry"), cluster: (any SessionCluster)? = nil
    ) {
        self.store = store
        self.limits = limits
        self.clock = clock
        self.logger = logger
        self.cluster = cluster
    }

    /// What it has to say about its slots to other nodes now (on joining).
    public func noteFreeSlots() { cluster?.noteFreeSlots(freeSlots) }

    /// Start-up recovery: sessions a previous process left STARTED or RUNNING did not
    /// finish and never will; they become FAILED with the reason. Returns how many.
    @discardableResult
    public func recoverInterrupted() async throws -> Int {
        let left = try await store.sessions(in: [.started, .running])
        var count = 0
        for var r in left where entries[r.id] == nil {
            r.state = .failed
            r.errorMessage = Self.interruptedMessage
            r.completedAt = clock.wallMicros
            try await store.saveSession(r)
            count += 1
        }
        if count > 0 { logger.warning("marked interrupted sessions failed", metadata: ["count": "\(count)"]) }
        return count
    }

    // MARK: Start

    /// Admits a session: validates the request, answers a repeated client request id
    /// with the session it made, checks that data exists, stores the session STARTED
    /// and runs it as soon as a slot is free. Returns at once.
    /// `onlyIfFree`: another node placed it here (section 15.4) and it must not wait
    /// here; RESOURCE_EXHAUSTED unless a run slot is free now.
    /// `handover`: another node sends its waiting session here (`onlyIfFree` too): it is
    /// admitted under its id and creation time once that node's offer is claimed.
    public func start(_ request: RunRequest, onlyIfFree: Bool = false, handover: Handover? = nil)
        async throws(ServiceError) -> Started
    {
        guard accepting else { throw ServiceError(.unavailable, "the server is shutting down") }
        let spec = try request.validated()
        if let handover {
            return try await takeOver(spec, handover)
        }

        if !spec.clientRequestId.isEmpty {
            if let existing = try await existingSession(for: spec.clientRequestId) {
                return try dedupe(existing, spec)
            }
        }
        try await requireData(spec)

        // No await from here to the insertion: the checks and the admission are atomic.
        guard accepting else { throw ServiceError(.unavailable, "the server is shutting down") }
        if !spec.clientRequestId.isEmpty, let id = byRequestId[spec.clientRequestId], let e = entries[id] {
            return try dedupe(e.record, spec)
        }
        if onlyIfFree && freeSlots == 0 {
            throw ServiceError(.resourceExhausted, "no free run slot on this node")
        }
        if running >= limits.maxRunning && queue.count >= limits.maxQueued {
            throw ServiceError(
                .resourceExhausted,
                "too many sessions: \(running) running and \(queue.count) waiting (the limit is \(limits.maxQueued) waiting); retry later"
            )
        }
        return try await admit(spec, id: UUID().uuidString.lowercased(), createdAt: clock.wallMicros)
    }

    /// Stores the session STARTED, announces it and runs it as soon as a slot is free.
    /// The caller has checked that it may (no await between its checks and this).
    private func admit(_ spec: RunRequest, id: String, createdAt now: Int64, takenFrom: String? = nil)
        async throws(ServiceError) -> Started
    {
        let record = SessionRecord(
            id: id, state: .started, symbol: spec.symbol, timeframe: spec.timeframe.description, range: spec.range,
            strategyName: spec.strategyName, accelerationFactor: spec.accelerationFactor, request: spec.encoded,
            clientRequestId: spec.clientRequestId, labels: spec.labels, createdAt: now)
        var initial = RunProgress(sessionId: id, kind: .update, state: .started)
        initial.equity = spec.config.initialCapital
        initial.cash = spec.config.initialCapital
        initial.wallTime = now
        entries[id] = Entry(record: record, spec: spec, hub: ProgressHub(initial: initial, clock: clock))
        if !spec.clientRequestId.isEmpty { byRequestId[spec.clientRequestId] = id }
        queue.append(id)

        do {
            try await StoreRetry.run(budget: .seconds(2)) { try await store.saveSession(record) }
        } catch {
            entries[id] = nil
            queue.removeAll { $0 == id }
            if byRequestId[spec.clientRequestId] == id { byRequestId[spec.clientRequestId] = nil }
            throw ServiceError(.unavailable, "the session could not be stored: \(error)", cause: error)
        }
        var metadata: Logger.Metadata = [
            "session": "\(id)", "symbol": "\(spec.symbol)", "timeframe": "\(spec.timeframe)",
            "strategy": "\(spec.strategyName)", "acceleration": "\(spec.accelerationFactor)",
        ]
        if let takenFrom { metadata["from"] = "\(takenFrom)" }
        logger.info(takenFrom == nil ? "session started" : "waiting session taken over", metadata: metadata)
        if let cluster {
            // Announced before the answer: a StopBacktest through another node finds it.
            let active = Active(record: record, progress: initial, waiting: waiting(id))
            if let takenFrom {
                await cluster.publish(active, takenFrom: takenFrom)
            } else {
                await cluster.publish(active)
            }
            startRelay(id, to: cluster)
        }
        launchWaiting()
        return Started(sessionId: id, state: .started, deduplicated: false, createdAt: now)
    }

    /// Another node's waiting session, admitted here as it was made there (its id and
    /// creation time: its stored row is the same row), once this node has claimed that
    /// node's offer of it.
    private func takeOver(_ spec: RunRequest, _ handover: Handover) async throws(ServiceError) -> Started {
        guard let cluster else {
            throw ServiceError(.failedPrecondition, "this node is not in a cluster: it takes no session over")
        }
        let id = handover.sessionId
        if let e = entries[id] {
            // A repeated call: it is here already.
            return Started(sessionId: id, state: e.record.state, deduplicated: true, createdAt: e.record.createdAt)
        }
        guard freeSlots > 0 else { throw ServiceError(.resourceExhausted, "no free run slot on this node") }
        try await requireData(spec)
        // Only the session as it was made: a call that names another's id takes nothing over.
        let stored = try await readStore { try await store.session(id: id) }
        guard let stored, stored.state == .started, stored.request == spec.encoded,
            stored.createdAt == handover.createdAt
        else {
            throw ServiceError(
                .failedPrecondition, "session \(id) is not a waiting session with this request to take over")
        }
        guard await cluster.claimHandover(id, from: handover.from) else {
            throw ServiceError(
                .failedPrecondition, "session \(id) is not being handed over by node \(handover.from)")
        }
        // No await from these checks to the insertion.
        guard accepting, freeSlots > 0, entries[id] == nil else {
            await cluster.returnHandover(id, to: handover.from)
            throw ServiceError(.resourceExhausted, "no free run slot on this node")
        }
        do {
            return try await admit(spec, id: id, createdAt: handover.createdAt, takenFrom: handover.from)
        } catch {
            await cluster.returnHandover(id, to: handover.from)
            throw error
        }
    }

    private func existingSession(for clientRequestId: String) async throws(ServiceError) -> SessionRecord? {
        if let id = byRequestId[clientRequestId], let e = entries[id] { return e.record }
        return try await readStore { try await store.session(clientRequestId: clientRequestId) }
    }

    private func dedupe(_ existing: SessionRecord, _ spec: RunRequest) throws(ServiceError) -> Started {
        guard existing.request == spec.encoded else {
            throw ServiceError(
                .alreadyExists, field: "client_request_id",
                "already used by session \(existing.id) with a different request")
        }
        let state = entries[existing.id]?.record.state ?? existing.state
        return Started(sessionId: existing.id, state: state, deduplicated: true, createdAt: existing.createdAt)
    }

    /// A read the request cannot do without: a store that cannot answer is UNAVAILABLE.
    private func readStore<T>(_ body: () async throws -> T) async throws(ServiceError) -> T {
        do {
            return try await body()
        } catch {
            throw ServiceError(.unavailable, "the store cannot be read: \(error)", cause: error)
        }
    }

    private func requireData(_ spec: RunRequest) async throws(ServiceError) {
        try await Self.requireData(spec, in: store)
    }

    /// FAILED_PRECONDITION unless stored data of the right kind overlaps the range
    /// (sessions and sweeps alike).
    static func requireData(_ spec: RunRequest, in store: any BacktestStore) async throws(ServiceError) {
        let series: [MarketSeries]
        do {
            series = try await store.marketSeries(symbol: spec.symbol)
        } catch {
            throw ServiceError(.unavailable, "the store cannot be read: \(error)", cause: error)
        }
        let wanted = spec.timeframe.description
        let usable = series.filter { s in
            guard s.symbol == spec.symbol, s.rows > 0, s.firstTime < spec.range.end, s.lastTime >= spec.range.start
            else { return false }
            switch spec.timeframe {
            case .tick: return s.kind == .ticks
            case .candles: return s.kind == .ticks || (s.kind == .candles && s.timeframe == wanted)
            }
        }
        guard usable.isEmpty else { return }
        let what = spec.timeframe == .tick ? "ticks" : "\(wanted) candles (or ticks to build them from)"
        let stored =
            series.isEmpty
            ? "nothing is stored for it"
            : "stored: "
                + series.map {
                    "\($0.kind == .ticks ? "ticks" : $0.timeframe) \(UTCTime.range($0.firstTime, $0.lastTime + 1))"
                }.joined(separator: ", ")
        throw ServiceError(
            .failedPrecondition,
            "no market data for symbol \"\(spec.symbol)\": no \(what) in \(UTCTime.range(spec.range.start, spec.range.end)); \(stored)"
        )
    }

    /// Run slots no session of this node counts on, for placement: a paced session
    /// asleep counts too (it lends its slot out only until its next data is due).
    public var freeSlots: Int { max(0, limits.maxRunning - entries.count) }

    /// Starts waiting sessions while there are free slots.
    private func launchWaiting() {
        defer { cluster?.noteFreeSlots(freeSlots) }
        // Runs that have started come first: their sessions are already RUNNING.
        while running < limits.maxRunning, !resuming.isEmpty {
            running += 1
            resuming.removeFirst().wake.resume()
        }
        while running < limits.maxRunning, accepting, !queue.isEmpty {
            let id = queue.removeFirst()
            guard var entry = entries[id] else { continue }
            running += 1
            entry.record.startedAt = clock.wallMicros
            var run = BacktestRun(
                spec: entry.spec, store: store, hub: entry.hub, control: entry.control,
                clock: clock, logger: logger, record: entry.record)
            run.retryBudget = limits.storeRetryBudget
            run.lease = RunLease(
                release: { [weak self] until in await self?.releaseSlot(id, until: until) },
                reacquire: { [weak self] in await self?.reacquireSlot(id) })
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

    /// Relays a session's events to the other nodes, at most one per `relayInterval`
    /// (the terminal one always), until the terminal one.
    private func startRelay(_ id: String, to cluster: any SessionCluster) {
        guard let e = entries[id] else { return }
        let (hub, record, capital) = (e.hub, e.record, e.spec.config.initialCapital)
        entries[id]?.relay = Task { [weak self] in
            try? await hub.watch(minInterval: Self.relayInterval) { event in
                var progress = event
                if progress.kind == .snapshot { progress.kind = .update }
                let waiting = progress.kind == .terminal ? nil : await self?.waiting(id)
                await cluster.publish(
                    Active(
                        record: Self.live(record, progress, initialCapital: capital), progress: progress,
                        waiting: waiting))
            }
        }
    }

    /// A paced run going to sleep until `until`: its slot goes to the next session.
    private func releaseSlot(_ id: String, until: Duration) {
        running -= 1
        sleeping[id] = until
        launchWaiting()
    }

    /// A paced run that woke: a slot at once if one is free (or if it is stopping, so
    /// a stop never waits for other sessions), else in line.
    private func reacquireSlot(_ id: String) async {
        sleeping[id] = nil
        if (running < limits.maxRunning && resuming.isEmpty) || entries[id]?.control.stopReason != nil {
            running += 1
            return
        }
        await withCheckedContinuation { resuming.append((id, $0)) }
    }

    /// A run in line for a slot that is asked to stop gets one at once.
    private func wakeIfResuming(_ id: String) {
        guard let i = resuming.firstIndex(where: { $0.id == id }) else { return }
        running += 1
        resuming.remove(at: i).wake.resume()
    }

    private func finished(_ id: String, _ record: SessionRecord, stored: Bool) {
        // Keep the final record if the store cannot show it yet.
        if !stored { keepUnsaved(record) }
        running -= 1
        entries[id] = nil
        if byRequestId[record.clientRequestId] == id { byRequestId[record.clientRequestId] = nil }
        launchWaiting()  // says the free slots
    }

    /// A terminal record the store did not take, answered from memory (bounded).
    private func keepUnsaved(_ record: SessionRecord) {
        if unsaved.count >= 10_000, let any = unsaved.keys.first { unsaved[any] = nil }
        unsaved[record.id] = record
    }

    // MARK: Moving a waiting session

    /// Where waiting sessions go when a slot is free on another node: set once, by the
    /// protocol layer (it calls that node).
    public func setMover(_ mover: @escaping Mover) { self.mover = mover }

    /// Sends the longest-waiting session to another node with a free run slot (docs/
    /// DESIGN.md section 15.4), as it is: same id, same creation time, same request.
    /// Its watchers here follow it there. One at a time; none while this node shuts down.
    public func moveWaiting() async {
        guard let cluster, let mover, accepting, moving == nil, let id = queue.first, let entry = entries[id]
        else { return }
        queue.removeFirst()
        moving = id
        defer {
            moving = nil
            for waiter in moveWaiters { waiter.resume() }
            moveWaiters.removeAll()
        }
        // Nothing announces it as this node's once the other node may have it.
        entry.relay?.cancel()
        await entry.relay?.value
        var moved = false
        // Offered only when some node has a free slot (most beats find none).
        if await !cluster.placementCandidates().isEmpty, await cluster.offerHandover(id) {
            moved = await mover(
                entry.spec, Handover(sessionId: id, createdAt: entry.record.createdAt, from: cluster.nodeId))
            // No answer (a timeout, a lost connection): whoever has the offer has the session.
            if !moved { moved = !(await cluster.withdrawHandover(id)) }
        }
        guard moved else {
            queue.insert(id, at: 0)
            startRelay(id, to: cluster)
            launchWaiting()
            return
        }
        entries[id] = nil
        if byRequestId[entry.record.clientRequestId] == id { byRequestId[entry.record.clientRequestId] = nil }
        // Its watchers here hold its hub: fed from the node that runs it now.
        mirrors[id] = Mirror(hub: entry.hub, watchers: mirrors[id]?.watchers ?? 0, pinned: true)
        cluster.follow(id) { [weak self, hub = entry.hub] event in
            var e = event
            if e.kind == .snapshot { e.kind = .update }
            hub.publish(e)
            if e.kind == .terminal { Task { await self?.unpin(id) } }
        }
        await cluster.handedOver(id)
        cluster.noteFreeSlots(freeSlots)
        logger.info("waiting session moved to another node", metadata: ["session": "\(id)"])
    }

    /// Waits while `id` is being sent to another node.
    private func untilMoved(_ id: String) async {
        while moving == id { await withCheckedContinuation { moveWaiters.append($0) } }
    }

    /// A moved session has ended: its hub is followed no longer once nobody here watches.
    private func unpin(_ id: String) {
        guard var m = mirrors[id], m.pinned else { return }
        m.pinned = false
        if m.watchers == 0 {
            mirrors[id] = nil
            cluster?.unfollow(id)
        } else {
            mirrors[id] = m
        }
    }

    // MARK: Stop

    /// Stops a session (idempotent): a waiting one ends at once, a running one at its
    /// next slice with the results so far stored. A session that ended first answers
    /// with how it ended.
    public func stop(_ id: String, reason: String) async throws(ServiceError) -> Stopped {
        let why = reason.isEmpty ? "stopped by request" : reason
        await untilMoved(id)
        if let entry = entries[id] {
            if let position = queue.firstIndex(of: id) {
                // Waiting: it ends here, without ever running.
                queue.remove(at: position)
                await endWaiting(id, entry, reason: why)
                return Stopped(sessionId: id, state: .stopped, alreadyEnded: false)
            }
            entry.control.requestStop(why)
            wakeIfResuming(id)
            await entry.task?.value
            let state = try await record(id)?.state ?? .stopped
            return Stopped(sessionId: id, state: state, alreadyEnded: state != .stopped)
        }
        guard let record = try await record(id) else { throw .noSession(id) }
        if let cluster, !record.state.isTerminal, entries[id] == nil {
            return try await stopElsewhere(record, reason: why, cluster)
        }
        return Stopped(sessionId: id, state: record.state, alreadyEnded: true)
    }

    /// Stops a session another node answers for: the request goes to that node, and the
    /// answer waits for the session's terminal event (from that node, or from the node
    /// that finds it dead).
    private func stopElsewhere(_ record: SessionRecord, reason: String, _ cluster: any SessionCluster)
        async throws(ServiceError) -> Stopped
    {
        let id = record.id
        var owner = await cluster.owner(of: id)
        // Not announced yet (its StartBacktest is being answered), or the broker has just
        // restarted and its node has not said it again: a few moments, then UNAVAILABLE.
        var tries = 0
        while owner == .none && tries < 25 {
            tries += 1
            try? await clock.sleep(until: clock.now + .milliseconds(200))
            if let r = try await self.record(id), r.state.isTerminal {
                return Stopped(sessionId: id, state: r.state, alreadyEnded: true)
            }
            owner = await cluster.owner(of: id)
        }
        if owner == .none {
            throw ServiceError(
                .unavailable, "session \"\(id)\" is \(record.state.rawValue) but no node answers for it; retry later")
        }
        let latest = await cluster.remoteActive(id)?.progress
        let hub = mirror(id, from: latest ?? RunProgress(ended: record, kind: .update, sequence: 0), cluster)
        defer { unwatchMirror(id) }
        if case .node(let node) = owner { try await cluster.requestStop(id, on: node, reason: reason) }
        var terminal: RunProgress?
        try? await hub.watch(minInterval: .zero) { event in
            if event.kind == .terminal { terminal = event }
        }
        guard let terminal else { throw ServiceError(.unavailable, "the call ended before session \"\(id)\" did") }
        return Stopped(sessionId: id, state: terminal.state, alreadyEnded: terminal.state != .stopped)
    }

    /// Ends a waiting session STOPPED with `reason`, or as `theirs` says (another node
    /// ended it, taking this node for lost).
    private func endWaiting(_ id: String, _ entry: Entry, reason: String, endedAs theirs: SessionRecord? = nil) async {
        var record = entry.record
        record.state = .stopped
        record.stopReason = reason
        record.completedAt = clock.wallMicros
        if let theirs { record = theirs }
        // Answered from memory while the save is in flight: a reader that comes in
        // between must not see the store's STARTED.
        keepUnsaved(record)
        entries[id] = nil
        cluster?.noteFreeSlots(freeSlots)
        if byRequestId[record.clientRequestId] == id { byRequestId[record.clientRequestId] = nil }
        let save = Task { [record, store] in
            // Failing, it stays in memory; the store gets it from a spooling store, or never.
            (try? await StoreRetry.run(budget: .seconds(2)) { try await store.saveSession(record) }) != nil
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
        if let theirs { terminal = RunProgress(ended: theirs, kind: .terminal, sequence: 0) }
        entry.hub.publish(terminal)
    }

    /// Another node ended this session while this node still had it (it took this node
    /// for lost: frozen, or cut off from the broker): its run stops and stores nothing
    /// more, and `theirs` is the end, stored again and announced here.
    public func abandon(_ sessionId: String, endedAs theirs: SessionRecord) async {
        await untilMoved(sessionId)
        guard let entry = entries[sessionId] else { return }
        if let position = queue.firstIndex(of: sessionId) {
            queue.remove(at: position)
            await endWaiting(sessionId, entry, reason: theirs.errorMessage, endedAs: theirs)
            return
        }
        entry.control.abandon(endedAs: theirs)
        wakeIfResuming(sessionId)
        await entry.task?.value
    }

    // MARK: Delete

    /// Deletes an ended session and everything stored for it, and returns its record
    /// as it was. A session that waits or runs is FAILED_PRECONDITION (stop it first);
    /// one that has just ended is deleted once its run has handed it back. Deleting
    /// again is NOT_FOUND (docs/DESIGN.md section 2.7).
    public func delete(_ id: String) async throws(ServiceError) -> SessionRecord {
        // One deletion of a session at a time: the next one then finds it gone.
        while deleting[id] != nil {
            await withCheckedContinuation { deleting[id, default: []].append($0) }
        }
        deleting[id] = []
        defer {
            for waiter in deleting.removeValue(forKey: id) ?? [] { waiter.resume() }
        }

        if let entry = entries[id] {
            // Its terminal event is out and the run is handing it back: that is quick.
            guard entry.hub.latest.kind == .terminal, let task = entry.task else {
                throw Self.notEnded(id, entry.hub.latest.state)
            }
            await task.value
        }
        if let save = saving[id] { _ = await save.value }
        guard let record = try await record(id) else { throw .noSession(id) }
        // Live on another server sharing the store, or left unfinished by one.
        guard record.state.isTerminal else { throw Self.notEnded(id, record.state) }
        let deleted = try await ServiceError.storeCall { try await store.deleteSessions(ids: [id]) }
        let inMemory = unsaved.removeValue(forKey: id) != nil
        guard deleted.contains(id) || inMemory else { throw .noSession(id) }
        logger.info("session deleted", metadata: ["session": "\(id)", "status": "\(record.state.rawValue)"])
        return record
    }

    /// Deletes those of `ids` that have ended, skipping (never waiting for) any that is
    /// live or being deleted: retention's batch form. Returns the ids deleted.
    public func deleteEnded(_ ids: [String]) async throws(ServiceError) -> Set<String> {
        let candidates = ids.filter { entries[$0] == nil && saving[$0] == nil && deleting[$0] == nil }
        guard !candidates.isEmpty else { return [] }
        for id in candidates { deleting[id] = [] }
        defer {
            for id in candidates {
                for waiter in deleting.removeValue(forKey: id) ?? [] { waiter.resume() }
            }
        }
        let deleted = try await ServiceError.storeCall { try await store.deleteSessions(ids: candidates) }
        for id in candidates { unsaved[id] = nil }
        return deleted
    }

    private static func notEnded(_ id: String, _ state: SessionState) -> ServiceError {
        ServiceError(
            .failedPrecondition, field: "session_id",
            "session \"\(id)\" is \(state.rawValue): stop it first (StopBacktest), then delete it")
    }

    // MARK: Queries

    /// The session's current record: live progress for an active one, else the store's.
    public func record(_ id: String) async throws(ServiceError) -> SessionRecord? {
        if let e = entries[id] { return Self.live(e) }
        if let r = unsaved[id] { return r }
        let stored = try await readStore { try await store.session(id: id) }
        // Another node's live session: its progress now rather than the last persisted
        // (or the only one yet: a store may show another node's write a moment late).
        if let cluster, !(stored?.state.isTerminal ?? false), var live = await cluster.remoteActive(id)?.record {
            live.startedAt = live.startedAt ?? stored?.startedAt
            return live
        }
        return stored
    }

    /// A page of stored sessions; active ones show their live progress rather than
    /// the last persisted one.
    public func listSessions(_ query: SessionQuery) async throws(ServiceError) -> SessionPage {
        var page = try await ServiceError.storeCall { try await store.listSessions(query) }
        page.sessions = page.sessions.map { r in
            guard !r.state.isTerminal else { return r }
            if let e = entries[r.id] { return Self.live(e) }
            return unsaved[r.id] ?? r
        }
        return page
    }

    /// Active sessions (of `symbol`, or all; with a cluster, every node's), oldest first.
    public func active(symbol: String) async -> [Active] {
        var all = localActive()
        if let cluster {
            let here = Set(all.map(\.record.id))
            all += await cluster.remoteActive().filter { !here.contains($0.record.id) }
        }
        return
            all
            .filter { symbol.isEmpty || $0.record.symbol == symbol }
            .sorted { ($0.record.createdAt, $0.record.id) < ($1.record.createdAt, $1.record.id) }
    }

    /// The sessions this node answers for.
    public func localActive() -> [Active] {
        entries.values.map { Active(record: Self.live($0), progress: $0.hub.latest, waiting: waiting($0.record.id)) }
    }

    private func waiting(_ id: String) -> Waiting? {
        if moving == id { return .runSlot(running: running, ahead: 0) }
        if let ahead = resuming.firstIndex(where: { $0.id == id })
            ?? queue.firstIndex(of: id).map({ $0 + resuming.count })
        {
            return .runSlot(running: running, ahead: ahead)
        }
        if let until = sleeping[id] { return .pacing(dueIn: max(.zero, until - clock.now)) }
        return nil
    }

    /// One watch of a session: a snapshot, then the newest event at most once per
    /// `minInterval` (a slow watcher skips to the latest), then the terminal event,
    /// exactly once. An ended session gets its final state as snapshot and terminal.
    nonisolated(nonsending) public func watch(
        _ id: String, minInterval: Duration,
        _ emit: (RunProgress) async throws -> Void
    ) async throws {
        switch try await watchSource(id) {
        case .live(let hub):
            try await hub.watch(minInterval: minInterval, emit)
        case .mirror(let hub):
            defer { Task { await self.unwatchMirror(id) } }
            try await hub.watch(minInterval: minInterval, emit)
        case .ended(let r):
            try await emit(RunProgress(ended: r, kind: .snapshot, sequence: 0))
            try await emit(RunProgress(ended: r, kind: .terminal, sequence: 1))
        }
    }

    private enum WatchSource {
        case live(ProgressHub<RunProgress>)
        /// Another node's session (`mirror`); the watch ends with `unwatchMirror`.
        case mirror(ProgressHub<RunProgress>)
        case ended(SessionRecord)
    }

    private func watchSource(_ id: String) async throws(ServiceError) -> WatchSource {
        if let e = entries[id] { return .live(e.hub) }
        if mirrors[id] != nil, let cluster {
            return .mirror(mirror(id, from: RunProgress(sessionId: id, state: .started), cluster))
        }
        guard let r = try await record(id) else { throw .noSession(id) }
        // Not ended, and not here: run (or queued) by another node sharing the store.
        guard let cluster, !r.state.isTerminal else { return .ended(r) }
        // Its node's latest state rather than the last one stored.
        let latest = await cluster.remoteActive(id)?.progress
        if let e = entries[id] { return .live(e.hub) }  // it came here meanwhile
        return .mirror(mirror(id, from: latest ?? RunProgress(ended: r, kind: .update, sequence: 0), cluster))
    }

    /// The mirror of another node's session, made (following it from `latest`) if
    /// there is none, counted as watched until `unwatchMirror`.
    private func mirror(_ id: String, from latest: RunProgress, _ cluster: any SessionCluster)
        -> ProgressHub<RunProgress>
    {
        if mirrors[id] != nil {
            mirrors[id]!.watchers += 1
            return mirrors[id]!.hub
        }
        var initial = latest
        initial.kind = .update
        let hub = ProgressHub(initial: initial, clock: clock)
        mirrors[id] = Mirror(hub: hub, watchers: 1)
        cluster.follow(id) { [hub] event in
            var e = event
            if e.kind == .snapshot { e.kind = .update }
            hub.publish(e)
        }
        return hub
    }

    /// A watch of a mirrored session ended; the last one stops following it.
    private func unwatchMirror(_ id: String) {
        guard var m = mirrors[id] else { return }
        m.watchers -= 1
        guard m.watchers == 0, !m.pinned else {
            mirrors[id] = m
            return
        }
        mirrors[id] = nil
        cluster?.unfollow(id)
    }

    /// The trades of a session, in trade-number order, in batches.
    nonisolated(nonsending) public func trades(_ id: String, batchSize: Int) async throws(ServiceError)
        -> any RowCursor<TradeRecord>
    {
        guard try await record(id) != nil else { throw .noSession(id) }
        return try await ServiceError.storeCall { try await store.trades(sessionId: id, batchSize: batchSize) }
    }

    /// The equity curve of a session within `range`, in batches.
    nonisolated(nonsending) public func equity(_ id: String, range: TimeRange, batchSize: Int)
        async throws(ServiceError) -> any RowCursor<EquitySample>
    {
        guard try await record(id) != nil else { throw .noSession(id) }
        return try await ServiceError.storeCall {
            try await store.equity(sessionId: id, range: range, batchSize: batchSize)
        }
    }

    /// An active record with the hub's latest progress folded in.
    private static func live(_ e: Entry) -> SessionRecord {
        live(e.record, e.hub.latest, initialCapital: e.spec.config.initialCapital)
    }

    /// `record` with progress `p` folded in.
    private static func live(_ record: SessionRecord, _ p: RunProgress, initialCapital: Double) -> SessionRecord {
        var r = record
        r.state = p.state
        r.progressPct = p.progressPct
        r.simTime = p.simTime
        r.eventsProcessed = p.eventsProcessed
        r.totalTrades = p.trades
        r.finalPnl = p.equity - initialCapital
        if p.kind == .terminal {
            // Ended, and not yet handed back by its run: the terminal event has the rest.
            r.errorMessage = p.errorMessage
            r.stopReason = p.stopReason
            r.completedAt = p.wallTime
            if let stats = p.statistics {
                r.statistics = stats
                r.finalPnl = stats.finalPnl
                r.winRatePct = stats.winRatePct
                r.progressPct = 100
            }
        }
        return r
    }

    // MARK: Shutdown

    /// Refuses new sessions, stops every active one with `reason` stored, and waits
    /// for their runs to end. No session is left RUNNING.
    public func shutdown(reason: String = "server shutting down") async {
        accepting = false
        while moving != nil { await withCheckedContinuation { moveWaiters.append($0) } }
        let relays = entries.values.compactMap(\.relay)
        let waiting = queue
        queue.removeAll()
        for id in waiting {
            if let e = entries[id] { await endWaiting(id, e, reason: reason) }
        }
        let runs = entries.values.compactMap { e -> Task<Void, Never>? in
            e.control.requestStop(reason)
            return e.task
        }
        for (id, _) in resuming { wakeIfResuming(id) }
        for t in runs { await t.value }
        // The other nodes' watchers hear of each end before this node leaves.
        for relay in relays { await relay.value }
    }
}

extension EngineRegistry: ClusterMember {
    public func stopRequested(_ sessionId: String, reason: String) async {
        // Only a session of this node: a stale request must not bounce between nodes.
        guard entries[sessionId] != nil else { return }
        do {
            _ = try await stop(sessionId, reason: reason)
        } catch {
            logger.warning(
                "stop relayed by another node failed", metadata: ["session": "\(sessionId)", "error": "\(error)"])
        }
    }
}
