/// A compiled strategy: the series steps, the rules' code and every indicator's state,
/// behind raw pointers so the per-bar loop neither allocates nor reference-counts.
/// Built by `Compiler`; owned by one engine.
final class Program {
    struct DivisionByZero: Error {
        var position: Int32
        /// The rule, for series expressions (-1 when the caller knows it).
        var rule: Int32
    }

    let arena: Arena
    let slotCount: Int
    /// Current values, one per slot.
    let values: UnsafeMutablePointer<Double>
    let stack: UnsafeMutablePointer<Double>
    let code: Pool<Instruction>
    let steps: Pool<SeriesStep>
    let rings: Pool<HistoryRing>
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

    let ruleNames: [String]
    let entryLong: [CompiledRule]
    let exitLong: [CompiledRule]
    let entryShort: [CompiledRule]
    let exitShort: [CompiledRule]
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
        var ruleNames: [String] = []
        var rules: [CompiledRule] = []
        var stopLossPct = 0.0
        var takeProfitPct = 0.0
        var trailingStopPct = 0.0
        var sameSideEntry = SameSideEntry.ignore
    }

    init(_ p: Parts) {
        arena = p.arena
        slotCount = p.slotCount
        values = p.arena.allocate(p.slotCount)
        stack = p.arena.allocate(p.code.count + 2)
        code = Pool(p.code)
        steps = Pool(p.steps)
        rings = Pool(p.rings)
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
        entryLong = p.rules.filter { $0.kind == .entryLong }
        exitLong = p.rules.filter { $0.kind == .exitLong }
        entryShort = p.rules.filter { $0.kind == .entryShort }
        exitShort = p.rules.filter { $0.kind == .exitShort }
        stopLossPct = p.stopLossPct
        takeProfitPct = p.takeProfitPct
        trailingStopPct = p.trailingStopPct
        sameSideEntry = p.sameSideEntry
    }

    /// Loads bar `k`'s fields, updates every series and writes the history rings.
    @inline(__always)
    func advance(k: Int, open: Double, high: Double, low: Double, close: Double, volume: Double) throws(DivisionByZero) {
        let v = values
        v[0] = open
        v[1] = high
        v[2] = low
        v[3] = close
        v[4] = volume
        let stepCount = steps.count
        let s = steps.base
        var i = 0
        while i < stepCount {
            switch s[i] {
            case .sma(let ix, let input, let output):
                let x = v[Int(input)]
                v[Int(output)] = x.isNaN ? .nan : sma.base[Int(ix)].update(x)
            case .ema(let ix, let input, let output):
                let x = v[Int(input)]
                v[Int(output)] = x.isNaN ? .nan : ema.base[Int(ix)].update(x)
            case .wma(let ix, let input, let output):
                let x = v[Int(input)]
                v[Int(output)] = x.isNaN ? .nan : wma.base[Int(ix)].update(x)
            case .stddev(let ix, let input, let output):
                let x = v[Int(input)]
                v[Int(output)] = x.isNaN ? .nan : stddev.base[Int(ix)].update(x)
            case .extremum(let ix, let input, let output):
                let x = v[Int(input)]
                v[Int(output)] = x.isNaN ? .nan : extremum.base[Int(ix)].update(x)
            case .rsi(let ix, let input, let output):
                let x = v[Int(input)]
                v[Int(output)] = x.isNaN ? .nan : rsi.base[Int(ix)].update(x)
            case .roc(let ix, let input, let output):
                let x = v[Int(input)]
                if x.isNaN {
                    v[Int(output)] = .nan
                } else {
                    let old = lagged.base[Int(ix)].update(x)
                    v[Int(output)] = old == 0 ? .nan : (x / old - 1) * 100
                }
            case .momentum(let ix, let input, let output):
                let x = v[Int(input)]
                v[Int(output)] = x.isNaN ? .nan : x - lagged.base[Int(ix)].update(x)
            case .macd(let ix, let input, let line, let signal, let histogram):
                let x = v[Int(input)]
                if x.isNaN {
                    v[Int(line)] = .nan
                    v[Int(signal)] = .nan
                    v[Int(histogram)] = .nan
                } else {
                    let r = macd.base[Int(ix)].update(x)
                    v[Int(line)] = r.line
                    v[Int(signal)] = r.signal
                    v[Int(histogram)] = r.histogram
                }
            case .bbands(let ix, let input, let upper, let middle, let lower):
                let x = v[Int(input)]
                if x.isNaN {
                    v[Int(upper)] = .nan
                    v[Int(middle)] = .nan
                    v[Int(lower)] = .nan
                } else {
                    let r = bbands.base[Int(ix)].update(x)
                    v[Int(upper)] = r.upper
                    v[Int(middle)] = r.middle
                    v[Int(lower)] = r.lower
                }
            case .atr(let ix, let output):
                v[Int(output)] = atr.base[Int(ix)].update(high: high, low: low, close: close)
            case .vwap(let ix, let output):
                v[Int(output)] = vwap.base[Int(ix)].update(high: high, low: low, close: close, volume: volume)
            case .volumeRatio(let ix, let output):
                let mean = sma.base[Int(ix)].update(volume)
                v[Int(output)] = mean == 0 ? .nan : volume / mean
            case .constant(let c, let output):
                v[Int(output)] = c
            case .lag(let r, let lag, let output):
                let ring = rings.base[Int(r)]
                v[Int(output)] = ring.base[(k - Int(lag)) & ring.mask]
            case .expression(let start, let end, let output, let rule):
                do {
                    v[Int(output)] = try run(Int(start), Int(end), k: k)
                } catch {
                    throw DivisionByZero(position: error.position, rule: rule)
                }
            }
            i += 1
        }
        let r = rings.base
        for j in 0..<rings.count {
            r[j].base[k & r[j].mask] = v[Int(r[j].slot)]
        }
    }

    /// Runs code[start..<end] and returns the value left on the stack.
    @inline(__always)
    func run(_ start: Int, _ end: Int, k: Int) throws(DivisionByZero) -> Double {
        let st = stack
        let v = values
        let c = code.base
        var sp = -1
        var pc = start
        while pc < end {
            switch c[pc] {
            case .constant(let x):
                sp += 1
                st[sp] = x
            case .load(let slot):
                sp += 1
                st[sp] = v[Int(slot)]
            case .loadLag(let r, let lag):
                let ring = rings.base[Int(r)]
                sp += 1
                st[sp] = ring.base[(k - Int(lag)) & ring.mask]
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
            case .crossesAbove(let a, let ra, let b, let rb):
                let ringA = rings.base[Int(ra)], ringB = rings.base[Int(rb)]
                let prevA = ringA.base[(k - 1) & ringA.mask], prevB = ringB.base[(k - 1) & ringB.mask]
                sp += 1
                st[sp] = (prevA < prevB && v[Int(a)] > v[Int(b)]) ? 1 : 0
            case .crossesBelow(let a, let ra, let b, let rb):
                let ringA = rings.base[Int(ra)], ringB = rings.base[Int(rb)]
                let prevA = ringA.base[(k - 1) & ringA.mask], prevB = ringB.base[(k - 1) & ringB.mask]
                sp += 1
                st[sp] = (prevA > prevB && v[Int(a)] < v[Int(b)]) ? 1 : 0
            }
            pc += 1
        }
        return st[0]
    }
}
