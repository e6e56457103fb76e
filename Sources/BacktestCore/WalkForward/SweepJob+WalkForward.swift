import BacktestEngine
import BacktestStore
import Foundation

/// A walk-forward as a sweep job (docs/DESIGN.md section 13.9): for each window, every
/// combination over the in-sample bars (the same workers and data as a sweep), then the
/// best of them over the out-of-sample bars, started with the equity the previous
/// window ended with; the out-of-sample runs are stitched into one session.
extension SweepJob {
    mutating func walkForward(_ data: SweepData, _ walkForward: WalkForwardPlan) async throws -> Outcome {
        guard case .candles(let candles) = data else {
            // The plan refuses tick timeframes; nothing else reaches here.
            return .failed("a walk-forward needs candles")
        }
        let base = plan.request.base
        var capital = base.config.initialCapital
        var stitched = StitchedRun(initialCapital: capital)
        var oosTrades: [TradeRecord] = []
        var oosEquity: [EquitySample] = []
        for (k, w) in walkForward.windows.enumerated() {
            if let reason = control.stopReason { return .stopped(reason) }
            window = k
            var row = WalkForwardWindowRow(index: k, inSample: w.inSample, outOfSample: w.outOfSample)
            guard capital > 0 else {
                row.error = "no equity left after the previous window"
                record.done += UInt64(plan.count)
                try await saveWindow(row)
                continue
            }
            top = TopResults(k: 1, maximize: plan.request.maximize)
            let outcome = try await sweep(.candles(Self.bars(candles, in: w.inSample)), keepRows: false)
            if case .stopped = outcome { return outcome }
            guard let best = top.best, !best.value.isNaN else {
                row.error = "no combination has a value of \(plan.objective.name) in sample"
                try await saveWindow(row)
                continue
            }
            row.combination = best.row.combination
            row.params = best.row.params
            row.inSampleValue = best.value
            row.inSampleStatistics = best.row.statistics
            row.initialCapital = capital

            var config = SweepRequest.config(base.config, best.row.params)
            config.initialCapital = capital
            let oosBars = Self.bars(candles, in: w.outOfSample)
            guard let run = try await Self.runInFull(config, oosBars, control) else {
                return .stopped(control.stopReason ?? "stopped")
            }
            if oosBars.isEmpty {
                row.error = "no bars in the out-of-sample range"
            } else {
                row.outOfSampleStatistics = run.statistics
                capital = run.statistics.equityFinal
                do {
                    try stitched.append(closes: oosBars.map(\.close), equity: run.equity, trades: run.trades)
                } catch {
                    return .failed("stitching window \(k): \(error)")
                }
                let taken = stitched.take()
                oosTrades += taken.trades
                oosEquity += taken.equity
            }
            try await saveWindow(row)
        }
        guard stitched.bars > 0 else { return .completed }
        let statistics = stitched.statistics()
        let sessionId = try await saveStitched(statistics, trades: oosTrades, equity: oosEquity, walkForward)
        record.stitchedStatistics = statistics
        record.stitchedSessionId = sessionId
        return .completed
    }

    private func saveWindow(_ row: WalkForwardWindowRow) async throws {
        try await StoreRetry.run(budget: retryBudget) { [store, id = record.id] in
            try await store.saveWalkForwardWindow(sweepId: id, row)
        }
        hub.publish(event(.update))
    }

    /// The candles of `range` (the data is sorted by time): exactly those a run of that
    /// range reads.
    static func bars(_ candles: [Candle], in range: TimeRange) -> [Candle] {
        func lowerBound(_ time: Int64) -> Int {
            var lo = 0
            var hi = candles.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if candles[mid].time < time { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        return Array(candles[lowerBound(range.start)..<lowerBound(range.end)])
    }

    /// One run with its trades and equity kept; nil when a stop came first.
    static func runInFull(_ config: BacktestConfig, _ rows: [Candle], _ control: RunControl) async throws
        -> (statistics: BacktestStatistics, trades: [TradeRecord], equity: [EquitySample])?
    {
        let engine = try Engine(config: config)
        var trades: [TradeRecord] = []
        var equity: [EquitySample] = []
        let finished = try await feed(rows, control) { slice throws in
            try engine.process(candles: slice)
            trades += engine.takeTrades()
            equity += engine.takeEquity()
        }
        guard finished else { return nil }
        let statistics = engine.finish()
        trades += engine.takeTrades()
        equity += engine.takeEquity()
        return (statistics, trades, equity)
    }

    /// The stitched out-of-sample run as a COMPLETED session labelled with the sweep.
    private func saveStitched(
        _ statistics: BacktestStatistics, trades: [TradeRecord], equity: [EquitySample], _ walkForward: WalkForwardPlan
    ) async throws -> String {
        let spec = plan.request.base
        let id = UUID().uuidString.lowercased()
        let started = clock.wallMicros
        var writer = ResultWriter(store: store, sessionId: id, retryBudget: retryBudget)
        try await writer.add(trades: trades, equity: equity)
        try await writer.finish()
        var labels = spec.labels
        labels["sweep"] = record.id
        labels["walk_forward"] = "oos"
        let span = TimeRange(
            start: walkForward.windows.first?.outOfSample.start ?? spec.range.start,
            end: walkForward.windows.last?.outOfSample.end ?? spec.range.end)
        let session = SessionRecord(
            id: id, state: .completed, symbol: spec.symbol, timeframe: spec.timeframe.description, range: span,
            strategyName: spec.strategyName, accelerationFactor: 0, request: plan.request.stitchedRequest(span),
            labels: labels, progressPct: 100, simTime: span.end, eventsProcessed: UInt64(equity.count),
            finalPnl: statistics.finalPnl, totalTrades: UInt64(max(0, statistics.totalTrades)),
            winRatePct: statistics.winRatePct, statistics: statistics, createdAt: started, startedAt: started,
            completedAt: clock.wallMicros)
        try await StoreRetry.run(budget: retryBudget) { [store] in try await store.saveSession(session) }
        return id
    }
}
