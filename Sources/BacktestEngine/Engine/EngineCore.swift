/// The engine's whole mutable state, as one value the public `Engine` moves into a local
/// for each batch: the per-bar loop then runs on a local struct, with no dynamic
/// exclusivity checks or reference counting.
struct EngineCore {
    enum Mode { case none, candles, ticks }

    let program: Program
    var broker: Broker
    let leaveOpenAtEnd: Bool
    let endOfData: BacktestConfig.EndOfData
    let sampleInterval: Int64
    private(set) var mode = Mode.none
    private(set) var finished = false

    /// Bars (or ticks) seen.
    private(set) var count = 0
    /// The strategy runs from this bar on: the bar after every indicator had a value.
    private var startBar = Int.max
    private var warmupBar = 0
    private var warmupValid: [Bool]
    private var warmupMissing: Int
    private var bankrupt = false

    // The last bar, and the one before it (fill-on-close prices, the end-of-data pass).
    private var lastTime: Int64 = 0
    private var lastOpen = 0.0
    private var lastHigh = 0.0
    private var lastLow = 0.0
    private var lastClose = 0.0
    private var previousTime: Int64 = 0
    private var previousClose = Double.nan

    // The last bar's equity waits here until the next bar (the end may change it).
    private var pendingEquity = 0.0
    private var pendingPosition = 0.0
    private var pendingFilled = false
    private var nextSampleTime = Int64.min
    var samples: [EquitySample] = []
    static let sampleReserve = 4096

    init(config: BacktestConfig, program: Program) {
        self.program = program
        broker = Broker(config: config, stopLossPct: program.stopLossPct, takeProfitPct: program.takeProfitPct,
                        trailingPct: program.trailingStopPct)
        leaveOpenAtEnd = config.leaveOpenAtEnd
        endOfData = config.endOfData
        sampleInterval = config.equitySampleIntervalMicros
        warmupValid = [Bool](repeating: false, count: program.warmupSlots.count)
        warmupMissing = program.warmupSlots.count
        samples.reserveCapacity(Self.sampleReserve)
    }

    // MARK: batches

    mutating func process(candles: UnsafeBufferPointer<Candle>) throws(EngineError) {
        guard !finished else { throw .finished }
        if mode == .ticks { throw .mixedData(row: count, expected: "ticks") }
        mode = .candles
        for c in candles {
            let row = count
            if row > 0 && c.time <= lastTime {
                throw c.time == lastTime ? .duplicateTime(row: row, time: c.time) : .timeOutOfOrder(row: row, time: c.time, previous: lastTime)
            }
            guard c.open.isFinite && c.open > 0 else { throw .invalidPrice(row: row, time: c.time, field: "open", value: c.open) }
            guard c.high.isFinite && c.high > 0 else { throw .invalidPrice(row: row, time: c.time, field: "high", value: c.high) }
            guard c.low.isFinite && c.low > 0 else { throw .invalidPrice(row: row, time: c.time, field: "low", value: c.low) }
            guard c.close.isFinite && c.close > 0 else { throw .invalidPrice(row: row, time: c.time, field: "close", value: c.close) }
            guard c.high >= c.low else { throw .highBelowLow(row: row, time: c.time, high: c.high, low: c.low) }
            guard c.volume.isFinite && c.volume >= 0 else { throw .invalidVolume(row: row, time: c.time, value: c.volume) }
            try step(time: c.time, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume)
        }
    }

    mutating func process(ticks: UnsafeBufferPointer<Tick>) throws(EngineError) {
        guard !finished else { throw .finished }
        if mode == .candles { throw .mixedData(row: count, expected: "candles") }
        mode = .ticks
        for t in ticks {
            let row = count
            if row > 0 && t.time <= lastTime {
                throw t.time == lastTime ? .duplicateTime(row: row, time: t.time) : .timeOutOfOrder(row: row, time: t.time, previous: lastTime)
            }
            guard t.price.isFinite && t.price > 0 else { throw .invalidPrice(row: row, time: t.time, field: "price", value: t.price) }
            guard t.size.isFinite && t.size > 0 else { throw .invalidTickSize(row: row, time: t.time, value: t.size) }
            try step(time: t.time, open: t.price, high: t.price, low: t.price, close: t.price, volume: t.size)
        }
    }

    // MARK: one bar

    @inline(__always)
    private mutating func step(time: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) throws(EngineError) {
        let k = count
        if k > 0 { commitPending() }
        do {
            try program.advance(k: k, open: open, high: high, low: low, close: close, volume: volume)
        } catch {
            throw .divisionByZero(rule: program.ruleNames[Int(error.rule)], position: Int(error.position), bar: k, time: time)
        }
        if k > 0 {
            previousTime = lastTime
            previousClose = lastClose
        }
        lastTime = time
        lastOpen = open
        lastHigh = high
        lastLow = low
        lastClose = close
        count = k + 1

        if k < startBar {
            if k == 0 { broker.statistics.buyAndHoldBase = close }
            if startBar == Int.max { checkWarmup(k: k, close: close) }
            pendingEquity = broker.cash
            pendingPosition = 0
            pendingFilled = false
            return
        }
        if bankrupt {
            pendingEquity = 0
            pendingPosition = 0
            pendingFilled = false
            return
        }
        broker.filledThisBar = false
        broker.process(index: k, time: time, open: open, high: high, low: low, previousClose: previousClose, previousTime: previousTime)
        var equity = broker.equity(at: close)
        if equity <= 0 {
            broker.bankrupt(index: k, time: time, close: close)
            bankrupt = true
            equity = 0
        }
        broker.endBar(high: high, low: low)
        pendingEquity = equity
        pendingPosition = broker.positionSize
        pendingFilled = broker.filledThisBar
        if !bankrupt { try evaluateRules(k: k, time: time) }
    }

    private mutating func checkWarmup(k: Int, close: Double) {
        let slots = program.warmupSlots
        if warmupMissing > 0 {
            for i in 0..<slots.count where !warmupValid[i] && !program.values[Int(slots.base[i])].isNaN {
                warmupValid[i] = true
                warmupMissing -= 1
            }
        }
        if warmupMissing == 0 {
            warmupBar = k
            startBar = k + 1
            broker.statistics.buyAndHoldBase = close
        }
    }

    /// Exit rules of the open side, then entry rules; the first true rule of a kind acts.
    @inline(__always)
    private mutating func evaluateRules(k: Int, time: Int64) throws(EngineError) {
        let p = program
        let position = broker.positionSize
        p.values[Int(FieldSlot.position)] = position
        var target = position
        if position > 0 && !p.exitLong.isEmpty, let rule = try firstTrue(p.exitLong, k: k, time: time) {
            broker.pending.append(Order(side: .sell, closesPosition: true, rule: rule.name))
            target = 0
        } else if position < 0 && !p.exitShort.isEmpty, let rule = try firstTrue(p.exitShort, k: k, time: time) {
            broker.pending.append(Order(side: .buy, closesPosition: true, rule: rule.name))
            target = 0
        }
        let reopen = p.sameSideEntry == .reopen
        if !p.entryLong.isEmpty && (target <= 0 || reopen), let rule = try firstTrue(p.entryLong, k: k, time: time) {
            if target != 0 { broker.pending.append(Order(side: .sell, closesPosition: true, rule: rule.name)) }
            broker.pending.append(Order(side: .buy, rule: rule.name))
            return
        }
        if !p.entryShort.isEmpty && (target >= 0 || reopen), let rule = try firstTrue(p.entryShort, k: k, time: time) {
            if target != 0 { broker.pending.append(Order(side: .buy, closesPosition: true, rule: rule.name)) }
            broker.pending.append(Order(side: .sell, rule: rule.name))
        }
    }

    @inline(__always)
    private func firstTrue(_ rules: [CompiledRule], k: Int, time: Int64) throws(EngineError) -> CompiledRule? {
        for rule in rules {
            let v: Double
            do {
                v = try program.run(rule.start, rule.end, k: k)
            } catch {
                throw .divisionByZero(rule: rule.name, position: Int(error.position), bar: k, time: time)
            }
            if v != 0 { return rule }
        }
        return nil
    }

    /// Hands the previous bar's equity to the statistics and the curve.
    @inline(__always)
    private mutating func commitPending() {
        let index = count - 1
        broker.statistics.commit(index: index, time: lastTime, close: lastClose, equity: pendingEquity)
        if mode == .candles || pendingFilled || lastTime >= nextSampleTime || finished {
            if mode == .ticks {
                nextSampleTime = (UTCTime.floorDiv(lastTime, sampleInterval) + 1) * sampleInterval
            }
            let dd = broker.statistics.drawdowns.current
            samples.append(EquitySample(time: lastTime, equity: pendingEquity, cash: pendingEquity - pendingPosition * lastClose,
                                        positionSize: pendingPosition, drawdownPct: dd == 0 ? 0 : -dd * 100))
        }
    }

    // MARK: end

    mutating func finish() -> BacktestStatistics {
        guard !finished else { return BacktestStatistics() }
        finished = true
        guard count > 0 else { return broker.statistics.finish(warmupBars: 0) }
        let last = count - 1
        var openRecord: TradeRecord?
        if !bankrupt && last >= startBar {
            if leaveOpenAtEnd {
                broker.pending.removeAll()
            } else {
                switch endOfData {
                case .backtestingPy:
                    // backtesting.py closes remaining trades with orders and runs the
                    // broker over the last bar once more.
                    if broker.trade != nil {
                        broker.pending.insert(Order(side: broker.positionSize > 0 ? .sell : .buy, closesPosition: true, rule: "END"), at: 0)
                    }
                    broker.process(index: last, time: lastTime, open: lastOpen, high: lastHigh, low: lastLow,
                                   previousClose: previousClose, previousTime: previousTime)
                case .lastClose:
                    broker.pending.removeAll()
                    broker.close(at: lastClose, index: last, time: lastTime, rule: "END")
                }
                var equity = broker.equity(at: lastClose)
                if equity <= 0 {
                    broker.bankrupt(index: last, time: lastTime, close: lastClose)
                    equity = 0
                }
                pendingEquity = equity
                pendingPosition = broker.positionSize
            }
            openRecord = broker.openTradeRecord(price: lastClose)
        }
        commitPending()
        let stats = broker.statistics.finish(warmupBars: warmupBar)
        if let openRecord { broker.closedTrades.append(openRecord) }
        return stats
    }

    // MARK: progress

    var progress: EngineProgress {
        let stats = broker.statistics
        let equity = count == 0 ? broker.cash : pendingEquity
        let peak = max(stats.peak, equity)
        let dd = peak > 0 ? -(1 - equity / peak) * 100 : 0
        let position = count == 0 ? 0 : pendingPosition
        return EngineProgress(
            simTime: count == 0 ? nil : lastTime, eventsProcessed: count, equity: equity,
            cash: equity - position * lastClose, realizedPnl: broker.realizedPnl,
            unrealizedPnl: broker.unrealizedPnl(at: lastClose), drawdownPct: dd == 0 ? 0 : dd,
            maxDrawdownPct: min(-stats.drawdowns.max * 100, dd == 0 ? 0 : dd),
            positionSize: position, openPositions: broker.trade == nil ? 0 : 1, closedTrades: broker.closedCount)
    }
}
