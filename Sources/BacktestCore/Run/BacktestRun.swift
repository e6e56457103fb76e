import BacktestEngine
import BacktestStore
import Logging

/// One session's run: streams its data from the store through the engine, paces it by
/// the acceleration factor, writes results as it goes, publishes progress, and ends
/// with the session's terminal record saved and announced.
///
/// It runs as one task. Work comes in slices of at most one store batch, with a
/// suspension at least every `yieldInterval`, so backtests at full speed never keep
/// a cooperative thread from RPC handlers for long.
struct BacktestRun {
    let spec: RunRequest
    let store: any BacktestStore
    let hub: ProgressHub<RunProgress>
    let control: RunControl
    let clock: any ServiceClock
    let logger: Logger
    /// The run slot it holds while it computes.
    var lease = RunLease.held
    var record: SessionRecord

    /// How long store writes are retried before the session fails.
    var retryBudget = Duration.seconds(10)
    var batchSize = 8192
    var publishInterval = Duration.milliseconds(100)
    var persistInterval = Duration.seconds(1)
    var yieldInterval = Duration.milliseconds(2)

    /// Where a run's wall time went, for the log line that ends it.
    struct Timings {
        var reading = Duration.zero
        var computing = Duration.zero
        var storing = Duration.zero

        static func measure<T>(_ total: inout Duration, _ body: () async throws -> T) async rethrows -> T {
            let t0 = ContinuousClock.now
            defer { total += ContinuousClock.now - t0 }
            return try await body()
        }
    }
    private(set) var timings = Timings()
    /// Whether the terminal record reached the store and is readable there; if not,
    /// the registry answers for it from memory (the store gets it once it is back).
    private(set) var terminalStored = false
    /// The statistics once the engine has finished (at the end or at a stop): a
    /// failure after that, writing the last results, keeps them.
    private(set) var finalStatistics: BacktestStatistics? = nil

    enum Outcome {
        case completed(BacktestStatistics)
        /// With the statistics of what ran, when anything did.
        case stopped(String, BacktestStatistics?)
        /// Likewise: a run that fails midway keeps the statistics up to the failure.
        case failed(String, BacktestStatistics?)
    }

    /// A failure after the engine ran, with the statistics of what it had done.
    struct FailedMidway: Error {
        let error: any Error
        let statistics: BacktestStatistics
    }

    /// Runs to the end; returns the terminal record (saved when the store allows).
    mutating func execute() async -> SessionRecord {
        record.state = .running
        record.startedAt = record.startedAt ?? clock.wallMicros
        var meter = ProgressMeter(spec: spec, clock: clock, wallStart: clock.now)
        hub.publish(meter.event(record: record, engine: nil, kind: .update))
        var outcome: Outcome
        do {
            try await StoreRetry.run(budget: retryBudget) { [record, store] in try await store.saveSession(record) }
            outcome = try await process(meter: &meter)
        } catch let failure as FailedMidway {
            outcome = Self.outcome(of: failure.error, statistics: failure.statistics, stopReason: control.stopReason)
        } catch {
            outcome = Self.outcome(of: error, statistics: nil, stopReason: control.stopReason)
        }
        return await end(outcome, meter: meter)
    }

    /// How an error ends the run: a failure with its reason, or a stop when a stop
    /// interrupted a write (or cancelled the run).
    static func outcome(of error: any Error, statistics: BacktestStatistics?, stopReason: String?) -> Outcome {
        if let stopReason { return .stopped(stopReason, statistics) }
        switch error {
        case let error as EngineError: return .failed("engine: \(error.description)", statistics)
        case let error as StoreError: return .failed(error.description, statistics)
        case is CancellationError: return .stopped("stopped", statistics)
        default: return .failed("\(error)", statistics)
        }
    }

    private mutating func process(meter: inout ProgressMeter) async throws -> Outcome {
        let engine: Engine
        do {
            engine = try Engine(config: spec.config)
        } catch {
            return .failed("strategy: \(error.description)", nil)
        }
        do {
            return try await process(engine, meter: &meter)
        } catch {
            // What ran is kept, as at a stop: the statistics up to the failure (the
            // results computed since the last write stay unsaved: the writer or the
            // data is what failed).
            if let finalStatistics { throw FailedMidway(error: error, statistics: finalStatistics) }
            guard engine.progress.eventsProcessed > 0 else { throw error }
            throw FailedMidway(error: error, statistics: engine.finishAtStop())
        }
    }

    private mutating func process(_ engine: Engine, meter: inout ProgressMeter) async throws -> Outcome {
        var writer = ResultWriter(store: store, sessionId: record.id, retryBudget: retryBudget)
        let pacer = Pacer(
            factor: spec.accelerationFactor, simStart: spec.range.start, wallStart: meter.wallStart, clock: clock,
            lease: lease)
        var lastPublish = clock.now
        var lastPersist = lastPublish
        // Yielding shares the cores, so it follows the real clock whatever clock paces.
        var lastYield = ContinuousClock.now

        // A stop keeps what was computed: the statistics of what ran (an open position
        // left open), and the results so far stored first.
        func stopIfRequested() async throws -> Outcome? {
            guard let reason = control.stopReason else { return nil }
            let ran = engine.progress.eventsProcessed > 0
            let statistics = ran ? engine.finishAtStop() : nil
            finalStatistics = statistics
            try await writer.add(trades: engine.takeTrades(), equity: engine.takeEquity())
            try await writer.finish()
            meter.fill(&record, engine.progress)
            return .stopped(reason, statistics)
        }

        // One step of bookkeeping after each slice of engine work.
        func afterSlice(_ knownTime: Int64) async throws -> Outcome? {
            meter.reached(knownTime, events: engine.progress.eventsProcessed)
            try await Timings.measure(&timings.storing) {
                try await writer.add(trades: engine.takeTrades(), equity: engine.takeEquity())
            }
            let now = clock.now
            if now - lastPublish >= publishInterval {
                lastPublish = now
                hub.publish(meter.event(record: record, engine: engine.progress, kind: .update))
            }
            if now - lastPersist >= persistInterval, control.abandonedAs == nil {
                lastPersist = now
                meter.fill(&record, engine.progress)
                try await StoreRetry.run(budget: retryBudget) { [record, store] in try await store.saveSession(record) }
            }
            if let end = try await stopIfRequested() { return end }
            if ContinuousClock.now - lastYield >= yieldInterval {
                await Task.yield()
                lastYield = ContinuousClock.now
            }
            return nil
        }

        // Batches from the store, admitted by the pacer, through the engine in slices.
        func drive<Row: Sendable>(
            _ cursor: Prefetcher<Row>, knownTime: (Row) -> Int64,
            _ compute: (UnsafeBufferPointer<Row>) throws -> Void
        ) async throws -> Outcome? {
            defer { Task { await cursor.close() } }
            while let batch = try await Timings.measure(&timings.reading, { try await cursor.next() }) {
                var i = 0
                while i < batch.count {
                    let k = try await pacer.admit(batch, from: i, control: control, knownTime)
                    if k > i {
                        let t0 = ContinuousClock.now
                        try batch.withUnsafeBufferPointer { try compute(UnsafeBufferPointer(rebasing: $0[i..<k])) }
                        timings.computing += ContinuousClock.now - t0
                        if let end = try await afterSlice(knownTime(batch[k - 1])) { return end }
                    } else if let end = try await stopIfRequested() {
                        return end
                    }
                    i = k
                }
            }
            return nil
        }

        switch spec.timeframe {
        case .tick:
            let cursor = Prefetcher(
                try await StoreRetry.run(budget: retryBudget) { [spec, store, batchSize] in
                    try await store.ticks(symbol: spec.symbol, range: spec.range, batchSize: batchSize)
                }, retryBudget: retryBudget)
            if let end = try await drive(cursor, knownTime: { $0.time }, { try engine.process(ticks: $0) }) {
                return end
            }
        case .candles(let seconds):
            let interval = seconds * 1_000_000
            let rangeEnd = spec.range.end
            // A bar is known when it closes: pace and report by its close time.
            let cursor = Prefetcher(
                try await StoreRetry.run(budget: retryBudget) { [spec, store, batchSize] in
                    try await store.candles(
                        symbol: spec.symbol, timeframe: spec.timeframe, range: spec.range, batchSize: batchSize)
                }, retryBudget: retryBudget)
            if let end = try await drive(
                cursor, knownTime: { min($0.time + interval, rangeEnd) }, { try engine.process(candles: $0) })
            {
                return end
            }
        }
        let statistics = engine.finish()
        finalStatistics = statistics
        try await Timings.measure(&timings.storing) {
            try await writer.add(trades: engine.takeTrades(), equity: engine.takeEquity())
            try await writer.finish()
        }
        meter.fill(&record, engine.progress)
        return .completed(statistics)
    }

    /// The statistics into the record and the terminal event, with the summary
    /// fields drawn from them.
    private mutating func keep(_ stats: BacktestStatistics, in terminal: inout RunProgress) {
        record.statistics = stats
        record.finalPnl = stats.finalPnl
        record.totalTrades = UInt64(max(0, stats.totalTrades))
        record.winRatePct = stats.winRatePct
        terminal.statistics = stats
        terminal.equity = stats.equityFinal
    }

    /// Another node ended the session while this one ran it: its end stands, stored
    /// again over anything this run saved after it (the run's last progress save may
    /// have landed after the other node's), and announced here.
    private mutating func yield(to theirs: SessionRecord) async -> SessionRecord {
        record = theirs
        await storeTerminal()
        logger.warning(
            "session ended by another node while this one ran it (this node was taken for lost): that end stands",
            metadata: ["session": "\(record.id)", "status": "\(theirs.state.rawValue)"])
        hub.publish(RunProgress(ended: theirs, kind: .terminal, sequence: 0))
        return record
    }

    /// Saves the terminal record and waits until it is readable (read-your-writes: when
    /// a watcher sees the terminal event, GetSession, GetTrades and GetEquityCurve
    /// already return the complete results).
    private mutating func storeTerminal() async {
        do {
            try await StoreRetry.run(budget: retryBudget) { [record, store] in try await store.saveSession(record) }
            try await store.sync()
            terminalStored = true
        } catch {
            // The store is unreachable: the registry keeps this record in memory (a
            // spooling store delivers it once the store is back).
            logger.error(
                "terminal state not yet readable in the store",
                metadata: ["session": "\(record.id)", "error": "\(error)"])
        }
    }

    /// Saves and announces the terminal state.
    private mutating func end(_ outcome: Outcome, meter: ProgressMeter) async -> SessionRecord {
        if let theirs = control.abandonedAs { return await yield(to: theirs) }
        var meter = meter
        record.completedAt = clock.wallMicros
        var terminal = meter.event(record: record, engine: nil, kind: .terminal)
        switch outcome {
        case .completed(let stats):
            record.state = .completed
            record.progressPct = 100
            keep(stats, in: &terminal)
            record.simTime = min(max(record.simTime ?? spec.range.start, stats.end), spec.range.end)
            terminal.progressPct = 100
            terminal.eta = .zero
        case .stopped(let reason, let stats):
            record.state = .stopped
            record.stopReason = reason
            terminal.stopReason = reason
            if let stats { keep(stats, in: &terminal) }
        case .failed(let message, let stats):
            record.state = .failed
            record.errorMessage = message
            terminal.errorMessage = message
            if let stats { keep(stats, in: &terminal) }
        }
        terminal.state = record.state
        terminal.simTime = record.simTime
        terminal.trades = record.totalTrades
        await storeTerminal()
        logger.info(
            "session ended",
            metadata: [
                "session": "\(record.id)", "status": "\(record.state.rawValue)",
                "events": "\(record.eventsProcessed)", "trades": "\(record.totalTrades)",
                "reading": "\(timings.reading)", "computing": "\(timings.computing)",
                "waiting_for_store": "\(timings.storing)",
            ])
        hub.publish(terminal)
        return record
    }
}
