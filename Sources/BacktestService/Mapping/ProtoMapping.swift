import BacktestCore
import BacktestEngine
import BacktestProto
import BacktestStore
import RPC

/// Conversions between the core's values and the contract's messages: the one place
/// where progress, errors and results take their gRPC form.
enum ProtoMapping {
    /// The core's progress as the contract's event.
    static func event(_ p: RunProgress) -> ProgressEvent {
        var e = ProgressEvent()
        e.sessionID = p.sessionId
        e.sequence = p.sequence
        e.kind =
            switch p.kind {
            case .snapshot: .snapshot
            case .update: .update
            case .terminal: .terminal
            }
        e.status = status(p.state)
        e.progressPct = p.progressPct
        e.simTime = timestamp(p.simTime)
        e.equity = p.equity
        e.cash = p.cash
        e.realizedPnl = p.realizedPnl
        e.unrealizedPnl = p.unrealizedPnl
        e.drawdownPct = p.drawdownPct
        e.maxDrawdownPct = p.maxDrawdownPct
        e.openPositions = UInt32(clamping: p.openPositions)
        e.positionSize = p.positionSize
        e.trades = p.trades
        e.eventsProcessed = p.eventsProcessed
        e.eventsPerSecond = p.eventsPerSecond
        e.eta = p.eta.map { ProtoDuration($0) }
        e.wallTime = timestamp(p.wallTime)
        e.statistics = p.statistics.map(statistics)
        e.errorMessage = p.errorMessage
        e.stopReason = p.stopReason
        return e
    }

    /// The core's errors as statuses, for every method.
    static func rpcError(_ e: ServiceError) -> RPCError {
        let code: Status.Code =
            switch e.kind {
            case .invalidArgument: .invalidArgument
            case .notFound: .notFound
            case .alreadyExists: .alreadyExists
            case .failedPrecondition: .failedPrecondition
            case .resourceExhausted: .resourceExhausted
            case .unavailable: .unavailable
            case .internal: .internal
            case .unimplemented: .unimplemented
            }
        return RPCError(code, e.message)
    }

    static func status(_ state: SessionState) -> SessionStatus {
        switch state {
        case .started: .started
        case .running: .running
        case .completed: .completed
        case .failed: .failed
        case .stopped: .stopped
        }
    }

    static func state(_ status: SessionStatus) -> SessionState? {
        switch status {
        case .unspecified: nil
        case .started: .started
        case .running: .running
        case .completed: .completed
        case .failed: .failed
        case .stopped: .stopped
        }
    }

    static func timestamp(_ us: Int64?) -> ProtoTimestamp? {
        us.map { ProtoTimestamp(microsecondsSinceEpoch: $0) }
    }

    static func statistics(_ s: BacktestStatistics) -> Statistics {
        Statistics(
            start: ProtoTimestamp(microsecondsSinceEpoch: s.start), end: ProtoTimestamp(microsecondsSinceEpoch: s.end),
            duration: ProtoDuration(microseconds: s.durationMicros), exposureTimePct: s.exposureTimePct,
            equityFinal: s.equityFinal, equityPeak: s.equityPeak, finalPnl: s.finalPnl, returnPct: s.returnPct,
            buyAndHoldReturnPct: s.buyAndHoldReturnPct, returnAnnualizedPct: s.returnAnnualizedPct,
            volatilityAnnualizedPct: s.volatilityAnnualizedPct, cagrPct: s.cagrPct, sharpeRatio: s.sharpeRatio,
            sortinoRatio: s.sortinoRatio, calmarRatio: s.calmarRatio, alphaPct: s.alphaPct, beta: s.beta,
            maxDrawdownPct: s.maxDrawdownPct, avgDrawdownPct: s.avgDrawdownPct,
            maxDrawdownDuration: ProtoDuration(microseconds: s.maxDrawdownDurationMicros),
            avgDrawdownDuration: ProtoDuration(microseconds: s.avgDrawdownDurationMicros),
            totalTrades: UInt64(max(0, s.totalTrades)), winRatePct: s.winRatePct, bestTradePct: s.bestTradePct,
            worstTradePct: s.worstTradePct, avgTradePct: s.avgTradePct,
            maxTradeDuration: ProtoDuration(microseconds: s.maxTradeDurationMicros),
            avgTradeDuration: ProtoDuration(microseconds: s.avgTradeDurationMicros), profitFactor: s.profitFactor,
            expectancyPct: s.expectancyPct, sqn: s.sqn, kellyCriterion: s.kellyCriterion, commissions: s.commissions)
    }

    static func activeSession(_ a: EngineRegistry.Active) -> ActiveSession {
        let r = a.record
        return ActiveSession(
            sessionID: r.id, status: status(r.state), symbol: r.symbol, timeframe: r.timeframe,
            strategyName: r.strategyName, createdAt: ProtoTimestamp(microsecondsSinceEpoch: r.createdAt),
            progress: event(a.progress), labels: r.labels, waiting: waiting(a.waiting))
    }

    /// What an active session waits for, as ListActive says it.
    static func waiting(_ w: EngineRegistry.Waiting?) -> String {
        switch w {
        case nil: ""
        case .runSlot(let running, let ahead): "a run slot: \(running) running, \(ahead) ahead"
        case .pacing(let dueIn):
            "pacing: next data due in \((dueIn / .milliseconds(100)).rounded() / 10)s"
        }
    }

    static func trade(_ t: TradeRecord) -> Trade {
        Trade(
            tradeNumber: UInt64(max(0, t.number)), side: t.side == .long ? .long : .short, quantity: t.quantity,
            entryTime: ProtoTimestamp(microsecondsSinceEpoch: t.entryTime), exitTime: timestamp(t.exitTime),
            entryPrice: t.entryPrice, exitPrice: t.exitPrice, pnl: t.pnl, returnPct: t.returnPct,
            commission: t.commission, entryRule: t.entryRule, exitRule: t.exitRule,
            entryIndex: UInt64(max(0, t.entryIndex)), exitIndex: UInt64(max(0, t.exitIndex ?? 0)))
    }

    static func equityPoint(_ p: EquitySample) -> EquityPoint {
        EquityPoint(
            time: ProtoTimestamp(microsecondsSinceEpoch: p.time), equity: p.equity, cash: p.cash,
            positionSize: p.positionSize, drawdownPct: p.drawdownPct)
    }

    /// The stored record as the contract's Session. The request bytes were encoded by
    /// this service; a record whose bytes do not decode (another writer) shows none.
    static func session(_ r: SessionRecord) -> Session {
        Session(
            sessionID: r.id, status: status(r.state), request: try? StartBacktestRequest(serializedBytes: r.request),
            progressPct: r.progressPct, simTime: timestamp(r.simTime), finalPnl: r.finalPnl, totalTrades: r.totalTrades,
            winRatePct: r.winRatePct, statistics: r.statistics.map(statistics), createdAt: timestamp(r.createdAt),
            startedAt: timestamp(r.startedAt), completedAt: timestamp(r.completedAt), errorMessage: r.errorMessage,
            stopReason: r.stopReason, eventsProcessed: r.eventsProcessed)
    }

    static func series(_ s: MarketSeries) -> MarketDataSeries {
        MarketDataSeries(
            symbol: s.symbol, kind: s.kind == .candles ? .candles : .ticks, timeframe: s.timeframe,
            firstTime: ProtoTimestamp(microsecondsSinceEpoch: s.firstTime),
            lastTime: ProtoTimestamp(microsecondsSinceEpoch: s.lastTime), rows: s.rows)
    }

    /// Rows as columns, as imports take them and GetMarketData gives them.
    static func candleBatch(_ rows: [Candle]) -> CandleBatch {
        CandleBatch(
            timeUs: rows.map(\.time), open: rows.map(\.open), high: rows.map(\.high), low: rows.map(\.low),
            close: rows.map(\.close), volume: rows.map(\.volume))
    }

    static func tickBatch(_ rows: [Tick]) -> TickBatch {
        TickBatch(timeUs: rows.map(\.time), price: rows.map(\.price), size: rows.map(\.size))
    }
}
