import TimeKit

/// The engine's whole mutable state, as one value the public `Engine` moves into a local
/// for each batch: the per-bar loop then runs on a local struct, with no dynamic
/// exclusivity checks or reference counting.
struct EngineCore {
    enum Mode { case none, candles, ticks }

    let program: Program
    // The program's rule lists and names, held here as plain values (no reference
    // counting on the signal path; the program keeps the pools alive).
    private let entryLong: UnsafeBufferPointer<RuleCode>
    private let exitLong: UnsafeBufferPointer<RuleCode>
    private let entryShort: UnsafeBufferPointer<RuleCode>
    private let exitShort: UnsafeBufferPointer<RuleCode>
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
    static let infinityBitsLess1 = Double.infinity.bitPattern - 1
    let columns = Columns()

    init(config: BacktestConfig, program: Program) {
        self.program = program
        entryLong = program.entryLong.buffer
        exitLong = program.exitLong.buffer
        entryShort = program.entryShort.buffer
        exitShort = program.exitShort.buffer
        broker = Broker(
            config: config, stopLossPct: program.stopLossPct, takeProfitPct: program.takeProfitPct,
            trailingPct: program.trailingStopPct, ruleNames: program.ruleNames)
        leaveOpenAtEnd = config.leaveOpenAtEnd
        endOfData = config.endOfData
        sampleInterval = config.equitySampleIntervalMicros
        warmupValid = [Bool](repeating: false, count: program.warmupSlots.count)
        warmupMissing = program.warmupSlots.count
        samples.reserveCapacity(Self.sampleReserve)
    }

    // MARK: batches

    /// Per-bar results of a chunk, one in front for the bar before it.
    final class Columns {
        let equity: UnsafeMutablePointer<Double>
        let position: UnsafeMutablePointer<Double>
        let filled: UnsafeMutablePointer<Bool>
        let drawdown: UnsafeMutablePointer<Double>
        let scratch: UnsafeMutablePointer<Double>
        let samples: UnsafeMutablePointer<EquitySample>
        static let capacity = Program.chunk + 1

        init() {
            equity = .allocate(capacity: Self.capacity)
            equity.initialize(repeating: 0, count: Self.capacity)
            position = .allocate(capacity: Self.capacity)
            position.initialize(repeating: 0, count: Self.capacity)
            filled = .allocate(capacity: Self.capacity)
            filled.initialize(repeating: false, count: Self.capacity)
            drawdown = .allocate(capacity: Self.capacity)
            drawdown.initialize(repeating: 0, count: Self.capacity)
            scratch = .allocate(capacity: 2 * Self.capacity)
            scratch.initialize(repeating: 0, count: 2 * Self.capacity)
            samples = .allocate(capacity: Self.capacity)
        }

        deinit {
            for p in [equity, position, drawdown] {
                p.deinitialize(count: Self.capacity)
                p.deallocate()
            }
            filled.deinitialize(count: Self.capacity)
            filled.deallocate()
            scratch.deinitialize(count: 2 * Self.capacity)
            scratch.deallocate()
            samples.deallocate()
        }
    }

    mutating func process(candles: UnsafeBufferPointer<Candle>) throws(EngineError) {
        guard !finished else { throw .finished }
        if mode == .ticks { throw .mixedData(row: count, expected: "ticks") }
        mode = .candles
        guard candles.count > 0 else { return }
        // A batch makes at most one sample a bar (and the pending one before it): they are
        // written straight into a new array's storage, which is then handed over whole.
        var failure: EngineError?
        let batch = [EquitySample](unsafeUninitializedCapacity: candles.count + 1) { buffer, initialized in
            sampleOut = buffer.baseAddress!
            sampleCount = 0
            do throws(EngineError) {
                try processChunks(candles)
            } catch {
                failure = error
            }
            initialized = sampleCount
            sampleOut = nil
        }
        if samples.isEmpty { samples = batch } else { samples.append(contentsOf: batch) }
        if let failure { throw failure }
    }

    /// Where candle runs write their samples (inside `process(candles:)`), and how many.
    private var sampleOut: UnsafeMutablePointer<EquitySample>?
    private var sampleCount = 0

    private mutating func processChunks(_ candles: UnsafeBufferPointer<Candle>) throws(EngineError) {
        // The columns, fetched once (stores through them cannot change these pointers).
        let times = program.times + program.history
        let opens = program.column(FieldSlot.open), highs = program.column(FieldSlot.high)
        let lows = program.column(FieldSlot.low), closes = program.column(FieldSlot.close)
        let volumes = program.column(FieldSlot.volume)
        var start = 0
        while start < candles.count {
            let n = min(Program.chunk, candles.count - start)
            // Load the chunk into the columns, checking each row without branches; only
            // a chunk with a bad row is looked at row by row: it ends at that row (the rows
            // before are processed).
            let rows = candles.baseAddress! + start
            // The order of times is checked afterwards on the column (in the cache): the
            // loop over the rows (mostly waiting on memory) carries no dependency.
            var flag: UInt8 = 0
            for j in 0..<n {
                let c = rows[j]
                times[j] = c.time
                opens[j] = c.open
                highs[j] = c.high
                lows[j] = c.low
                closes[j] = c.close
                volumes[j] = c.volume
                // x is positive and finite when bits(x) - 1 < bits(inf) - 1 (unsigned);
                // positive finite doubles order as their bit patterns.
                let o = c.open.bitPattern &- 1, h = c.high.bitPattern &- 1, l = c.low.bitPattern &- 1,
                    cl = c.close.bitPattern &- 1
                let worst = max(max(o, h), max(l, cl))
                flag |=
                    (worst < Self.infinityBitsLess1 ? 0 : 1) | (h >= l ? 0 : 1) | (c.volume >= 0 ? 0 : 1)
                    | (c.volume < .infinity ? 0 : 1)
            }
            // Times rise.
            flag |= times[0] > (count == 0 ? Int64.min : lastTime) ? 0 : 1
            for j in 1..<n { flag |= times[j] > times[j - 1] ? 0 : 1 }
            var m = n
            var bad: EngineError?
            if flag != 0 {
                m = 0
                var previous = lastTime
                while m < n {
                    let c = rows[m]
                    let row = count + m
                    if row > 0 && c.time <= previous {
                        bad =
                            c.time == previous
                            ? .duplicateTime(row: row, time: c.time)
                            : .timeOutOfOrder(row: row, time: c.time, previous: previous)
                    } else if !(c.open.isFinite && c.open > 0) {
                        bad = .invalidPrice(row: row, time: c.time, field: "open", value: c.open)
                    } else if !(c.high.isFinite && c.high > 0) {
                        bad = .invalidPrice(row: row, time: c.time, field: "high", value: c.high)
                    } else if !(c.low.isFinite && c.low > 0) {
                        bad = .invalidPrice(row: row, time: c.time, field: "low", value: c.low)
                    } else if !(c.close.isFinite && c.close > 0) {
                        bad = .invalidPrice(row: row, time: c.time, field: "close", value: c.close)
                    } else if !(c.high >= c.low) {
                        bad = .highBelowLow(row: row, time: c.time, high: c.high, low: c.low)
                    } else if !(c.volume.isFinite && c.volume >= 0) {
                        bad = .invalidVolume(row: row, time: c.time, value: c.volume)
                    }
                    if bad != nil { break }
                    previous = c.time
                    m += 1
                }
            }
            // The next chunk's rows (in this batch), touched while the series are computed.
            let ahead = min(Program.chunk, candles.count - start - n) * MemoryLayout<Candle>.stride
            try runChunk(count: m, lookahead: ahead > 0 ? UnsafeRawBufferPointer(start: rows + n, count: ahead) : nil)
            if let bad { throw bad }
            start += n
        }
    }

    mutating func process(ticks: UnsafeBufferPointer<Tick>) throws(EngineError) {
        guard !finished else { throw .finished }
        if mode == .candles { throw .mixedData(row: count, expected: "candles") }
        mode = .ticks
        var start = 0
        while start < ticks.count {
            let n = min(Program.chunk, ticks.count - start)
            var bad: EngineError?
            var m = 0
            var previous = lastTime
            while m < n {
                let t = ticks[start + m]
                let row = count + m
                // Ticks may share a time (several prints in one microsecond): each is its
                // own event, in the order given. Only a time going back is refused.
                if row > 0 && t.time < previous {
                    bad = .timeOutOfOrder(row: row, time: t.time, previous: previous)
                } else if !(t.price.isFinite && t.price > 0) {
                    bad = .invalidPrice(row: row, time: t.time, field: "price", value: t.price)
                } else if !(t.size.isFinite && t.size > 0) {
                    bad = .invalidTickSize(row: row, time: t.time, value: t.size)
                }
                if bad != nil { break }
                program.setBar(
                    m, time: t.time, open: t.price, high: t.price, low: t.price, close: t.price, volume: t.size)
                previous = t.time
                m += 1
            }
            try runChunk(count: m)
            if let bad { throw bad }
            start += n
        }
    }

    // MARK: one chunk

    /// Runs chunk bars 0..<n (loaded into the program's columns): the series, then the
    /// orders and the account bar by bar, then the statistics and equity samples of every
    /// bar but the last (the end may still change it). The results are those of running
    /// the bars one at a time.
    private mutating func runChunk(count n: Int, lookahead: UnsafeRawBufferPointer? = nil) throws(EngineError) {
        guard n > 0 else { return }
        let k0 = count
        if let shared = program.sharedRows {
            // Shared columns hold the values of these bars only: another series is a bug.
            let times = program.times + program.history
            precondition(
                k0 + n <= shared.count && times[0] == shared.time(at: k0)
                    && times[n - 1] == shared.time(at: k0 + n - 1),
                "an engine with shared columns was fed other bars than theirs")
        }
        let (limit, seriesError) = program.computeSeries(count: n, first: k0, lookahead: lookahead)
        let col = columns
        // The bar before the chunk (still pending) sits at index -1.
        let eq = col.equity + 1, pos = col.position + 1, filled = col.filled + 1
        eq[-1] = pendingEquity
        pos[-1] = pendingPosition
        filled[-1] = pendingFilled
        var done = limit
        var ruleError: Program.DivisionByZero?
        do {
            try trade(count: limit, k0: k0, equity: eq, position: pos, filled: filled)
        } catch {
            ruleError = error.error
            done = error.bar + 1
        }
        // Commit every bar before the last processed one; after a series error also that
        // one (a per-bar run commits a bar when the next one starts).
        let commitEnd = seriesError != nil && ruleError == nil ? done : done - 1
        commit(from: k0 > 0 ? -1 : 0, to: commitEnd, k0: k0, equity: eq, position: pos, filled: filled)
        if done > 0 {
            let last = done - 1
            let close = program.column(FieldSlot.close), open = program.column(FieldSlot.open)
            let high = program.column(FieldSlot.high), low = program.column(FieldSlot.low)
            let times = program.times + program.history
            if last > 0 || k0 > 0 {
                previousTime = times[last - 1]
                previousClose = close[last - 1]
            }
            lastTime = times[last]
            lastOpen = open[last]
            lastHigh = high[last]
            lastLow = low[last]
            lastClose = close[last]
            pendingEquity = eq[last]
            pendingPosition = pos[last]
            pendingFilled = filled[last]
            count = k0 + done
        }
        // The failing bar: the last processed one for a rule, the next one for a series.
        let failingTime =
            ruleError != nil
            ? program.times[program.history + done - 1]
            : seriesError != nil ? program.times[program.history + limit] : 0
        program.shiftHistory(count: done)
        if let ruleError {
            throw .divisionByZero(
                rule: program.ruleNames[Int(ruleError.rule)], position: Int(ruleError.position), bar: k0 + done - 1,
                time: failingTime)
        }
        if let seriesError {
            throw .divisionByZero(
                rule: program.ruleNames[Int(seriesError.rule)], position: Int(seriesError.position), bar: k0 + limit,
                time: failingTime)
        }
    }

    struct RuleFailure: Error {
        var error: Program.DivisionByZero
        var bar: Int
    }

    /// Orders, fills and the account over chunk bars 0..<n. Bars with no open trade to
    /// watch, no pending order and no signal only value the account.
    @inline(__always)
    private mutating func trade(
        count n: Int, k0: Int, equity eq: UnsafeMutablePointer<Double>, position pos: UnsafeMutablePointer<Double>,
        filled: UnsafeMutablePointer<Bool>
    ) throws(RuleFailure) {
        let close = program.column(FieldSlot.close), open = program.column(FieldSlot.open)
        let high = program.column(FieldSlot.high), low = program.column(FieldSlot.low)
        let times = program.times + program.history
        let signal = program.signal
        let crossingsOnly = program.rulesAreCrossings
        let quietPossible = crossingsOnly && broker.noExits
        var j = 0
        while j < n {
            let k = k0 + j
            if k < startBar {
                if k == 0 { broker.statistics.buyAndHoldBase = close[j] }
                if startBar == Int.max { checkWarmup(k: k, j: j, close: close[j]) }
                eq[j] = broker.cash
                pos[j] = 0
                filled[j] = false
                j += 1
                continue
            }
            if bankrupt {
                eq[j] = 0
                pos[j] = 0
                filled[j] = false
                j += 1
                continue
            }
            if quietPossible && signal[j] == 0 && broker.pending.isEmpty {
                // Nothing can happen on the bars up to the next signal: value the account
                // (as equity(at:)) in one vectorisable pass. A bar whose equity is not
                // positive goes the full way (bankruptcy).
                let first = j
                let end = program.nextSignal(from: j, below: n)
                let cash = broker.cash
                if let t = broker.trade {
                    let size = t.size, entry = t.entryPrice
                    var broke: UInt8 = 0
                    for i in j..<end {
                        let e = cash + (close[i] * size - size * entry)
                        broke |= Program.byte(e <= 0)
                        eq[i] = e
                        pos[i] = size
                        filled[i] = false
                    }
                    j = end
                    if broke != 0 {
                        // Bars from the first one not positive take the full way.
                        j = first
                        while !(cash + (close[j] * size - size * entry) <= 0) { j += 1 }
                    }
                } else if cash > 0 {
                    for i in j..<end {
                        eq[i] = cash
                        pos[i] = 0
                        filled[i] = false
                    }
                    j = end
                }
                if j > first { continue }
            }
            broker.filledThisBar = false
            broker.process(
                index: k, time: times[j], open: open[j], high: high[j], low: low[j], previousClose: close[j - 1],
                previousTime: times[j - 1])
            var equity = broker.equity(at: close[j])
            if equity <= 0 {
                broker.bankrupt(index: k, time: times[j], close: close[j])
                bankrupt = true
                equity = 0
            }
            broker.endBar(high: high[j], low: low[j])
            eq[j] = equity
            pos[j] = broker.positionSize
            filled[j] = broker.filledThisBar
            // With crossings only, a bar without a signal has no true rule.
            if !bankrupt && (!crossingsOnly || signal[j] != 0) {
                do {
                    try evaluateRules(j: j)
                } catch {
                    throw RuleFailure(error: error, bar: j)
                }
            }
            j += 1
        }
    }

    private mutating func checkWarmup(k: Int, j: Int, close: Double) {
        let slots = program.warmupSlots
        if warmupMissing > 0 {
            for i in 0..<slots.count where !warmupValid[i] && !program.column(slots.base[i])[j].isNaN {
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
    private mutating func evaluateRules(j: Int) throws(Program.DivisionByZero) {
        let position = broker.positionSize
        program.column(FieldSlot.position)[j] = position
        var target = position
        if position > 0 && exitLong.count > 0, let rule = try program.firstTrue(exitLong, j: j) {
            broker.pending.append(PendingOrder(side: .sell, closesPosition: true, rule: Int32(rule)))
            target = 0
        } else if position < 0 && exitShort.count > 0, let rule = try program.firstTrue(exitShort, j: j) {
            broker.pending.append(PendingOrder(side: .buy, closesPosition: true, rule: Int32(rule)))
            target = 0
        }
        let reopen = program.sameSideEntry == .reopen
        if entryLong.count > 0 && (target <= 0 || reopen), let rule = try program.firstTrue(entryLong, j: j) {
            if target != 0 { broker.pending.append(PendingOrder(side: .sell, closesPosition: true, rule: Int32(rule))) }
            broker.pending.append(PendingOrder(side: .buy, rule: Int32(rule)))
            return
        }
        if entryShort.count > 0 && (target >= 0 || reopen), let rule = try program.firstTrue(entryShort, j: j) {
            if target != 0 { broker.pending.append(PendingOrder(side: .buy, closesPosition: true, rule: Int32(rule))) }
            broker.pending.append(PendingOrder(side: .sell, rule: Int32(rule)))
        }
    }

    /// Hands chunk bars from..<to (index -1 = the bar before the chunk) to the statistics
    /// and the equity curve.
    private mutating func commit(
        from: Int, to: Int, k0: Int, equity eq: UnsafeMutablePointer<Double>,
        position pos: UnsafeMutablePointer<Double>, filled: UnsafeMutablePointer<Bool>
    ) {
        guard from < to else { return }
        let close = program.column(FieldSlot.close)
        let times = program.times + program.history
        let dd = columns.drawdown + 1
        if let direct = sampleOut {
            // Candles: a sample every bar, written by the statistics pass.
            broker.statistics.commit(
                times: times, closes: close, equities: eq, drawdowns: dd, from: from, to: to, firstIndex: k0 + from,
                scratch: columns.scratch, positions: pos, samples: direct + sampleCount)
            sampleCount += to - from
            return
        }
        broker.statistics.commit(
            times: times, closes: close, equities: eq, drawdowns: dd, from: from, to: to, firstIndex: k0 + from,
            scratch: columns.scratch, positions: pos, samples: nil)
        var m = 0
        let out = columns.samples
        for j in from..<to where filled[j] || times[j] >= nextSampleTime {
            nextSampleTime = (UTCTime.floorDiv(times[j], sampleInterval) + 1) * sampleInterval
            out[m] = StatisticsAccumulator.sample(
                time: times[j], equity: eq[j], position: pos[j], close: close[j], drawdown: dd[j])
            m += 1
        }
        // Ticks make few samples: a plain copy into the array.
        samples.append(contentsOf: UnsafeBufferPointer(start: out, count: m))
    }

    /// Hands the last bar's equity to the statistics and the curve (at the end).
    private mutating func commitPending() {
        let index = count - 1
        broker.statistics.commit(index: index, time: lastTime, close: lastClose, equity: pendingEquity)
        if mode == .candles || pendingFilled || lastTime >= nextSampleTime || finished {
            if mode == .ticks {
                nextSampleTime = (UTCTime.floorDiv(lastTime, sampleInterval) + 1) * sampleInterval
            }
            let dd = broker.statistics.lastDrawdown
            samples.append(
                EquitySample(
                    time: lastTime, equity: pendingEquity, cash: pendingEquity - pendingPosition * lastClose,
                    positionSize: pendingPosition, drawdownPct: dd == 0 ? 0 : -dd * 100))
        }
    }

    // MARK: end

    mutating func finish(leavingOpen: Bool) -> BacktestStatistics {
        guard !finished else { return BacktestStatistics() }
        finished = true
        guard count > 0 else { return broker.statistics.finish(warmupBars: 0) }
        let last = count - 1
        var openRecord: TradeRecord?
        if !bankrupt && last >= startBar {
            if leaveOpenAtEnd || leavingOpen {
                broker.pending.removeAll()
            } else {
                switch endOfData {
                case .backtestingPy:
                    // backtesting.py closes remaining trades with orders and runs the
                    // broker over the last bar once more.
                    if broker.trade != nil {
                        broker.pending.insert(
                            PendingOrder(
                                side: broker.positionSize > 0 ? .sell : .buy, closesPosition: true, rule: broker.endRule
                            ), at: 0)
                    }
                    broker.process(
                        index: last, time: lastTime, open: lastOpen, high: lastHigh, low: lastLow,
                        previousClose: previousClose, previousTime: previousTime)
                case .lastClose:
                    broker.pending.removeAll()
                    broker.close(at: lastClose, index: last, time: lastTime, rule: broker.endRule)
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
            maxDrawdownPct: min(-stats.maxDrawdown * 100, dd == 0 ? 0 : dd),
            positionSize: position, openPositions: broker.trade == nil ? 0 : 1, closedTrades: broker.closedCount)
    }
}
