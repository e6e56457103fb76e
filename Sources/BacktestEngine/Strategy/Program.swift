/// A compiled strategy: the series steps, the rules' code and every indicator's state,
/// behind raw pointers so the loops neither allocate nor reference-count. Built by
/// `Compiler`; owned by one engine.
///
/// Work is done a chunk of bars at a time (at most `chunk`): every slot has a column
/// holding the chunk's values, preceded by `history` values of the bars before it (so a
/// lookback or a crossing reads `column[j - lag]` wherever `j` is), and each series step
/// fills its whole column before the next step runs.
final class Program {
    /// Bars per chunk: the columns stay in the L1/L2 caches.
    static let chunk = 1024
    struct DivisionByZero: Error {
        var position: Int32
        /// The rule, for series expressions (-1 when the caller knows it).
        var rule: Int32
    }

    let arena: Arena
    let slotCount: Int
    /// Bars of the previous chunk kept in front of every column (>= 1).
    let history: Int
    /// Doubles per column: history + chunk.
    let stride: Int
    /// slotCount columns; NaN stands for a bar not seen yet.
    let columns: UnsafeMutablePointer<Double>
    /// Bar times, with the same history in front (`times[-1]` is the previous bar's).
    let times: UnsafeMutablePointer<Int64>
    /// 1 where some rule's crossing is true (filled only when `rulesAreCrossings`); 8
    /// zero bytes after the chunk, so it can be scanned a word at a time.
    let signal: UnsafeMutablePointer<UInt8>
    /// Every rule is a single crossing: its truth per bar is known before trading, and
    /// bars with no signal need no rule evaluation.
    let rulesAreCrossings: Bool
    /// Slots whose history must move from chunk to chunk (lagged ones and the close).
    let historySlots: [Int32]
    let stack: UnsafeMutablePointer<Double>
    let code: Pool<Instruction>
    let steps: Pool<SeriesStep>
    /// Ring index (as the code names it) to the slot it reads the past of.
    let ringSlot: Pool<Int32>
    /// Indicator outputs: the strategy starts the bar after all have had a value.
    let warmupSlots: Pool<Int32>

    let sma: Pool<RollingMean>
    let ema: Pool<ExponentialMean>
    let wma: Pool<WeightedMean>
    let stddev: Pool<RollingDeviation>
    let extremum: Pool<RollingExtremum>
    let rsi: Pool<WilderRSI>
    let lagged: Pool<LaggedValue>
    let macd: Pool<MACD>
    let bbands: Pool<BollingerBands>
    let atr: Pool<AverageTrueRange>
    let vwap: Pool<VolumeWeightedPrice>

    /// The bars the shared columns were made over (nil: none shared), the columns (held
    /// here so they outlive a cache eviction) and their values, read by `.shared` steps.
    let sharedRows: SharedColumns?
    private let sharedColumns: [SharedColumn]
    let sharedValues: Pool<UnsafeMutablePointer<Double>>

    /// The bytes `computeSeries` touched ahead (kept so the loads stay).
    private(set) var lookaheadSink: UInt8 = 0

    let ruleNames: [String]
    let entryLong: Pool<RuleCode>
    let exitLong: Pool<RuleCode>
    let entryShort: Pool<RuleCode>
    let exitShort: Pool<RuleCode>
    let stopLossPct: Double
    let takeProfitPct: Double
    let trailingStopPct: Double
    let sameSideEntry: SameSideEntry

    struct Parts {
        var arena: Arena
        var slotCount: Int
        var code: [Instruction] = []
        var steps: [SeriesStep] = []
        var rings: [HistoryRing] = []
        var warmupSlots: [Int32] = []
        var sma: [RollingMean] = []
        var ema: [ExponentialMean] = []
        var wma: [WeightedMean] = []
        var stddev: [RollingDeviation] = []
        var extremum: [RollingExtremum] = []
        var rsi: [WilderRSI] = []
        var lagged: [LaggedValue] = []
        var macd: [MACD] = []
        var bbands: [BollingerBands] = []
        var atr: [AverageTrueRange] = []
        var vwap: [VolumeWeightedPrice] = []
        /// Steps (by index) whose column other programs over the same bars may share, and
        /// the key naming their computation.
        var shareKeys: [Int: String] = [:]
        var ruleNames: [String] = []
        var rules: [CompiledRule] = []
        var stopLossPct = 0.0
        var takeProfitPct = 0.0
        var trailingStopPct = 0.0
        var sameSideEntry = SameSideEntry.ignore
    }

    init(_ p: Parts, shared: SharedColumns? = nil) {
        arena = p.arena
        slotCount = p.slotCount
        history = max(1, p.rings.map(\.depth).max() ?? 1)
        stride = history + Self.chunk
        columns = p.arena.allocate(p.slotCount * stride)
        times = UnsafeMutablePointer<Int64>.allocate(capacity: stride)
        times.initialize(repeating: 0, count: stride)
        signal = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.chunk + 8)
        signal.initialize(repeating: 0, count: Self.chunk + 8)
        var kept = p.rings.map(\.slot)
        if !kept.contains(FieldSlot.close) { kept.append(FieldSlot.close) }
        historySlots = kept
        stack = p.arena.allocate(p.code.count + 2)
        code = Pool(p.code)
        var steps = p.steps
        var held: [SharedColumn] = []
        if let shared {
            for (i, key) in p.shareKeys.sorted(by: { $0.key < $1.key }) {
                if let (column, output) = Self.sharedColumn(of: steps[i], key: key, parts: p, rows: shared) {
                    steps[i] = .shared(Int32(held.count), output: output)
                    held.append(column)
                }
            }
        }
        self.steps = Pool(steps)
        sharedRows = held.isEmpty ? nil : shared
        sharedColumns = held
        sharedValues = Pool(held.map(\.values))
        ringSlot = Pool(p.rings.map(\.slot))
        warmupSlots = Pool(p.warmupSlots)
        sma = Pool(p.sma)
        ema = Pool(p.ema)
        wma = Pool(p.wma)
        stddev = Pool(p.stddev)
        extremum = Pool(p.extremum)
        rsi = Pool(p.rsi)
        lagged = Pool(p.lagged)
        macd = Pool(p.macd)
        bbands = Pool(p.bbands)
        atr = Pool(p.atr)
        vwap = Pool(p.vwap)
        ruleNames = p.ruleNames
        func codes(_ kind: StrategyDefinition.RuleKind) -> Pool<RuleCode> {
            Pool(
                p.rules.filter { $0.kind == kind }.map { rule in
                    var c = RuleCode(start: Int32(rule.start), end: Int32(rule.end), id: rule.id)
                    if rule.end - rule.start == 1 {
                        switch p.code[rule.start] {
                        case .crossesAbove(let a, let ra, let b, let rb):
                            (c.crossing, c.a, c.aRing, c.b, c.bRing) = (1, a, ra, b, rb)
                        case .crossesBelow(let a, let ra, let b, let rb):
                            (c.crossing, c.a, c.aRing, c.b, c.bRing) = (2, a, ra, b, rb)
                        default: break
                        }
                    }
                    return c
                })
        }
        rulesAreCrossings = p.rules.allSatisfy { rule in
            guard rule.end - rule.start == 1 else { return false }
            switch p.code[rule.start] {
            case .crossesAbove, .crossesBelow: return true
            default: return false
            }
        }
        entryLong = codes(.entryLong)
        exitLong = codes(.exitLong)
        entryShort = codes(.entryShort)
        exitShort = codes(.exitShort)
        stopLossPct = p.stopLossPct
        takeProfitPct = p.takeProfitPct
        trailingStopPct = p.trailingStopPct
        sameSideEntry = p.sameSideEntry
    }

    /// The shared column of an indicator step over a field (made now if no other program
    /// made it yet), and the step's output slot; nil when the column cannot be shared.
    private static func sharedColumn(of step: SeriesStep, key: String, parts p: Parts, rows: SharedColumns) -> (
        SharedColumn, Int32
    )? {
        /// Runs a fresh copy of the step's indicator over the field, as the step would.
        func made<I>(
            _ initial: I, _ input: Int32, _ output: Int32,
            _ run: (inout I, UnsafeMutablePointer<Double>, UnsafeMutablePointer<Double>, Int) -> Void
        ) -> (SharedColumn, Int32)? {
            let column = rows.column(key) { out in
                var state = initial
                let values = UnsafeMutablePointer<Double>.allocate(capacity: chunk)
                defer { values.deallocate() }
                var start = 0
                while start < rows.count {
                    let n = Swift.min(chunk, rows.count - start)
                    rows.field(input, from: start, count: n, into: values)
                    run(&state, values, out + start, n)
                    start += n
                }
            }
            return column.map { ($0, output) }
        }
        switch step {
        case .sma(let ix, let input, let output):
            return made(p.sma[Int(ix)], input, output) { $0.run($1, $2, count: $3) }
        case .ema(let ix, let input, let output):
            return made(p.ema[Int(ix)], input, output) { $0.run($1, $2, count: $3) }
        case .wma(let ix, let input, let output):
            return made(p.wma[Int(ix)], input, output) { $0.run($1, $2, count: $3) }
        case .stddev(let ix, let input, let output):
            return made(p.stddev[Int(ix)], input, output) { $0.run($1, $2, count: $3) }
        case .extremum(let ix, let input, let output):
            return made(p.extremum[Int(ix)], input, output) { $0.run($1, $2, count: $3) }
        case .rsi(let ix, let input, let output):
            return made(p.rsi[Int(ix)], input, output) { $0.run($1, $2, count: $3) }
        default:
            return nil
        }
    }

    deinit {
        times.deinitialize(count: stride)
        times.deallocate()
        signal.deinitialize(count: Self.chunk + 8)
        signal.deallocate()
    }

    /// Slot `slot`'s column: index j is the chunk's bar j; negative indices reach back
    /// `history` bars.
    @inline(__always)
    func column(_ slot: Int32) -> UnsafeMutablePointer<Double> {
        columns + (Int(slot) * stride + history)
    }

    /// Times, open, high, low, close and volume of chunk bar `j`.
    @inline(__always)
    func setBar(_ j: Int, time: Int64, open: Double, high: Double, low: Double, close: Double, volume: Double) {
        times[history + j] = time
        let c = columns + (history + j)
        c[Int(FieldSlot.open) * stride] = open
        c[Int(FieldSlot.high) * stride] = high
        c[Int(FieldSlot.low) * stride] = low
        c[Int(FieldSlot.close) * stride] = close
        c[Int(FieldSlot.volume) * stride] = volume
    }

    /// Computes every series column for chunk bars 0..<n (their fields set). On a
    /// division by zero it stops: the bars before `limit` are complete, and `error` is the
    /// first failing step on bar `limit` (bar order first, then step order, as a per-bar
    /// run would find it).
    ///
    /// `lookahead` is memory the caller reads next (the next chunk's rows): a loop that
    /// waits on its own arithmetic (the SMA pair) touches it on the way.
    /// `first` is the chunk's first bar in the whole run (where shared columns are read).
    func computeSeries(count n: Int, first: Int, lookahead: UnsafeRawBufferPointer? = nil) -> (
        limit: Int, error: DivisionByZero?
    ) {
        var limit = n
        var failure: DivisionByZero?
        let stepCount = steps.count
        let s = steps.base
        var i = 0
        while i < stepCount {
            switch s[i] {
            case .sma(let ix, let input, let output):
                // Two averages side by side run in one loop: their dependency chains overlap.
                if i + 1 < stepCount, case .sma(let ix2, let input2, let output2) = s[i + 1], input2 != output {
                    // Price fields are positive and finite (checked when loaded).
                    let prices =
                        input >= FieldSlot.open && input <= FieldSlot.close && input2 >= FieldSlot.open
                        && input2 <= FieldSlot.close
                    lookaheadSink ^= RollingMean.runPair(
                        sma.base + Int(ix), column(input), column(output),
                        sma.base + Int(ix2), column(input2), column(output2), count: limit,
                        positiveInputs: prices, lookahead: lookahead)
                    i += 1
                } else {
                    sma.base[Int(ix)].run(column(input), column(output), count: limit)
                }
            case .ema(let ix, let input, let output):
                ema.base[Int(ix)].run(column(input), column(output), count: limit)
            case .wma(let ix, let input, let output):
                wma.base[Int(ix)].run(column(input), column(output), count: limit)
            case .stddev(let ix, let input, let output):
                stddev.base[Int(ix)].run(column(input), column(output), count: limit)
            case .extremum(let ix, let input, let output):
                extremum.base[Int(ix)].run(column(input), column(output), count: limit)
            case .rsi(let ix, let input, let output):
                rsi.base[Int(ix)].run(column(input), column(output), count: limit)
            case .roc(let ix, let input, let output):
                let x = column(input), out = column(output)
                var state = lagged.base[Int(ix)]
                for j in 0..<limit {
                    let v = x[j]
                    if v.isNaN {
                        out[j] = .nan
                    } else {
                        let old = state.update(v)
                        out[j] = old == 0 ? .nan : (v / old - 1) * 100
                    }
                }
                lagged.base[Int(ix)] = state
            case .momentum(let ix, let input, let output):
                let x = column(input), out = column(output)
                var state = lagged.base[Int(ix)]
                for j in 0..<limit {
                    let v = x[j]
                    out[j] = v.isNaN ? .nan : v - state.update(v)
                }
                lagged.base[Int(ix)] = state
            case .macd(let ix, let input, let line, let signal, let histogram):
                let x = column(input), l = column(line), sg = column(signal), h = column(histogram)
                var state = macd.base[Int(ix)]
                for j in 0..<limit {
                    let v = x[j]
                    if v.isNaN {
                        l[j] = .nan
                        sg[j] = .nan
                        h[j] = .nan
                    } else {
                        let r = state.update(v)
                        l[j] = r.line
                        sg[j] = r.signal
                        h[j] = r.histogram
                    }
                }
                macd.base[Int(ix)] = state
            case .bbands(let ix, let input, let upper, let middle, let lower):
                let x = column(input), u = column(upper), m = column(middle), lo = column(lower)
                var state = bbands.base[Int(ix)]
                for j in 0..<limit {
                    let v = x[j]
                    if v.isNaN {
                        u[j] = .nan
                        m[j] = .nan
                        lo[j] = .nan
                    } else {
                        let r = state.update(v)
                        u[j] = r.upper
                        m[j] = r.middle
                        lo[j] = r.lower
                    }
                }
                bbands.base[Int(ix)] = state
            case .atr(let ix, let output):
                let h = column(FieldSlot.high), l = column(FieldSlot.low), c = column(FieldSlot.close),
                    out = column(output)
                var state = atr.base[Int(ix)]
                for j in 0..<limit { out[j] = state.update(high: h[j], low: l[j], close: c[j]) }
                atr.base[Int(ix)] = state
            case .vwap(let ix, let output):
                let h = column(FieldSlot.high), l = column(FieldSlot.low), c = column(FieldSlot.close)
                let v = column(FieldSlot.volume), out = column(output)
                var state = vwap.base[Int(ix)]
                for j in 0..<limit { out[j] = state.update(high: h[j], low: l[j], close: c[j], volume: v[j]) }
                vwap.base[Int(ix)] = state
            case .volumeRatio(let ix, let output):
                let v = column(FieldSlot.volume), out = column(output)
                var state = sma.base[Int(ix)]
                for j in 0..<limit {
                    let mean = state.update(v[j])
                    out[j] = mean == 0 ? .nan : v[j] / mean
                }
                sma.base[Int(ix)] = state
            case .shared(let source, let output):
                column(output).update(from: sharedValues.base[Int(source)] + first, count: limit)
            case .constant(let c, let output):
                column(output).update(repeating: c, count: limit)
            case .lag(let r, let lag, let output):
                let x = column(ringSlot.base[Int(r)]) - Int(lag), out = column(output)
                for j in 0..<limit { out[j] = x[j] }
            case .expression(let start, let end, let output, let rule):
                let out = column(output)
                for j in 0..<limit {
                    do {
                        out[j] = try run(Int(start), Int(end), j: j)
                    } catch {
                        // This bar fails; later steps need only run before it.
                        limit = j
                        failure = DivisionByZero(position: error.position, rule: rule)
                        break
                    }
                }
            }
            i += 1
        }
        if rulesAreCrossings { markSignals(count: limit) }
        return (limit, failure)
    }

    /// signal[j] = 1 where any rule's crossing is true on chunk bar j. The usual pair
    /// (one rule above, one below, of the same two series) in one branch-free pass.
    private func markSignals(count n: Int) {
        var crossings: [RuleCode] = []
        for list in [entryLong, exitLong, entryShort, exitShort] {
            for r in 0..<list.count { crossings.append(list.base[r]) }
        }
        if crossings.count == 2 && crossings[0].a == crossings[1].a && crossings[0].b == crossings[1].b
            && crossings[0].crossing != crossings[1].crossing
        {
            let a = column(crossings[0].a), b = column(crossings[0].b)
            for j in 0..<n {
                // Above: a[-1] < b[-1] and a > b; below: a[-1] > b[-1] and a < b. As bytes
                // and bit operations: the comparisons are data, not branches to predict.
                let wasBelow = Self.byte(a[j - 1] < b[j - 1]), wasAbove = Self.byte(a[j - 1] > b[j - 1])
                let isAbove = Self.byte(a[j] > b[j]), isBelow = Self.byte(a[j] < b[j])
                signal[j] = (wasBelow & isAbove) | (wasAbove & isBelow)
            }
            return
        }
        signal.update(repeating: 0, count: n)
        for rule in crossings {
            let a = column(rule.a), b = column(rule.b)
            if rule.crossing == 1 {
                for j in 0..<n { signal[j] |= Self.byte(a[j - 1] < b[j - 1]) & Self.byte(a[j] > b[j]) }
            } else {
                for j in 0..<n { signal[j] |= Self.byte(a[j - 1] > b[j - 1]) & Self.byte(a[j] < b[j]) }
            }
        }
    }

    /// The first chunk bar from `j` on (below `n`) with a signal, or `n`.
    @inline(__always)
    func nextSignal(from j: Int, below n: Int) -> Int {
        var i = j
        let raw = UnsafeRawPointer(signal)
        while i < n {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if word != 0 { return min(n, i + word.littleEndian.trailingZeroBitCount / 8) }
            i += 8
        }
        return n
    }

    /// 1 for true, 0 for false (a Bool's byte).
    @inline(__always)
    static func byte(_ b: Bool) -> UInt8 { unsafeBitCast(b, to: UInt8.self) }

    /// After a chunk of `n` bars: its last `history` bars become the history in front of
    /// the next chunk.
    func shiftHistory(count n: Int) {
        guard n > 0 else { return }
        for slot in historySlots {
            let base = columns + Int(slot) * stride
            base.update(from: base + n, count: history)
        }
        times.update(from: times + n, count: history)
    }

    /// The id of the first of `rules` that is true on chunk bar `j`.
    @inline(__always)
    func firstTrue(_ rules: UnsafeBufferPointer<RuleCode>, j: Int) throws(DivisionByZero) -> Int? {
        let base = rules.baseAddress!
        for i in 0..<rules.count {
            let rule = base[i]
            if rule.crossing != 0 {
                let a = column(rule.a), b = column(rule.b)
                if rule.crossing == 1 ? (a[j - 1] < b[j - 1] && a[j] > b[j]) : (a[j - 1] > b[j - 1] && a[j] < b[j]) {
                    return Int(rule.id)
                }
                continue
            }
            let v: Double
            do {
                v = try run(Int(rule.start), Int(rule.end), j: j)
            } catch {
                throw DivisionByZero(position: error.position, rule: rule.id)
            }
            if v != 0 { return Int(rule.id) }
        }
        return nil
    }

    /// Runs code[start..<end] on chunk bar `j` and returns the value left on the stack.
    @inline(__always)
    func run(_ start: Int, _ end: Int, j: Int) throws(DivisionByZero) -> Double {
        let st = stack
        let c = code.base
        let at = columns + (history + j)
        let stride = stride
        var sp = -1
        var pc = start
        while pc < end {
            switch c[pc] {
            case .constant(let x):
                sp += 1
                st[sp] = x
            case .load(let slot):
                sp += 1
                st[sp] = at[Int(slot) * stride]
            case .loadLag(let r, let lag):
                sp += 1
                st[sp] = at[Int(ringSlot.base[Int(r)]) * stride - Int(lag)]
            case .add:
                st[sp - 1] = st[sp - 1] + st[sp]
                sp -= 1
            case .subtract:
                st[sp - 1] = st[sp - 1] - st[sp]
                sp -= 1
            case .multiply:
                st[sp - 1] = st[sp - 1] * st[sp]
                sp -= 1
            case .divide(let position):
                let d = st[sp]
                if d == 0 { throw DivisionByZero(position: position, rule: -1) }
                st[sp - 1] = st[sp - 1] / d
                sp -= 1
            case .negate:
                st[sp] = -st[sp]
            case .less:
                st[sp - 1] = st[sp - 1] < st[sp] ? 1 : 0
                sp -= 1
            case .lessEqual:
                st[sp - 1] = st[sp - 1] <= st[sp] ? 1 : 0
                sp -= 1
            case .greater:
                st[sp - 1] = st[sp - 1] > st[sp] ? 1 : 0
                sp -= 1
            case .greaterEqual:
                st[sp - 1] = st[sp - 1] >= st[sp] ? 1 : 0
                sp -= 1
            case .equal:
                st[sp - 1] = st[sp - 1] == st[sp] ? 1 : 0
                sp -= 1
            case .notEqual:
                // NaN != x is true in IEEE arithmetic, but a comparison with NaN is false here.
                let a = st[sp - 1], b = st[sp]
                st[sp - 1] = (!a.isNaN && !b.isNaN && a != b) ? 1 : 0
                sp -= 1
            case .not:
                st[sp] = st[sp] == 0 ? 1 : 0
            case .jumpIfFalse(let offset):
                if st[sp] == 0 {
                    pc += Int(offset)
                    continue
                }
                sp -= 1
            case .jumpIfTrue(let offset):
                if st[sp] != 0 {
                    pc += Int(offset)
                    continue
                }
                sp -= 1
            case .crossesAbove(let a, _, let b, _):
                let pa = at + Int(a) * stride, pb = at + Int(b) * stride
                sp += 1
                st[sp] = (pa[-1] < pb[-1] && pa[0] > pb[0]) ? 1 : 0
            case .crossesBelow(let a, _, let b, _):
                let pa = at + Int(a) * stride, pb = at + Int(b) * stride
                sp += 1
                st[sp] = (pa[-1] > pb[-1] && pa[0] < pb[0]) ? 1 : 0
            }
            pc += 1
        }
        return st[0]
    }
}
