/// Turns a rule set into a `Program`: parses each rule once, checks names, types and
/// arguments (errors carry the rule and the position), shares identical indicators and
/// lays the series out in dependency order.
struct Compiler {
    enum ValueType { case number, boolean }

    private var parts: Program.Parts
    private let params: [String: Double]
    private var slotCount = FieldSlot.count
    /// Identical indicator calls share one slot. Looked up only, never iterated.
    private var indicatorSlots: [String: Int32] = [:]
    private var ringOfSlot: [Int32: Int32] = [:]
    private var ringLags: [Int] = []
    private var ringSlots: [Int32] = []
    private var ruleName = ""
    private var ruleIndex: Int32 = 0

    /// With `shared`, indicators of the bars' fields read columns made once for every
    /// engine over the same bars (see `SharedColumns`).
    static func compile(_ set: StrategyDefinition.RuleSet, shared: SharedColumns? = nil) throws(StrategyError)
        -> Program
    {
        var c = Compiler(parts: Program.Parts(arena: Arena(), slotCount: 0), params: set.params)
        c.parts.sameSideEntry = set.sameSideEntry
        try c.checkRuleSet(set)
        for (i, rule) in set.rules.enumerated() {
            c.ruleName = rule.name
            c.ruleIndex = Int32(i)
            c.parts.ruleNames.append(rule.name)
            let e = try Parser.parse(rule.expression, rule: rule.name)
            var code: [Instruction] = []
            let type = try c.emit(e, into: &code, inSeries: false)
            guard type == .boolean else {
                throw StrategyError(
                    rule: rule.name, position: 1,
                    message: "expected a condition (a comparison, crossing, and/or/not), found a number")
            }
            let start = c.parts.code.count
            c.parts.code.append(contentsOf: code)
            c.parts.rules.append(
                CompiledRule(name: rule.name, kind: rule.kind, start: start, end: c.parts.code.count, id: Int32(i)))
        }
        c.parts.stopLossPct = set.stopLossPct
        c.parts.takeProfitPct = set.takeProfitPct
        c.parts.trailingStopPct = set.trailingStopPct
        // History: how far back each lagged slot is read.
        for (i, slot) in c.ringSlots.enumerated() {
            c.parts.rings.append(HistoryRing(slot: slot, depth: c.ringLags[i]))
        }
        c.parts.slotCount = c.slotCount
        return Program(c.parts, shared: shared)
    }

    private func checkRuleSet(_ set: StrategyDefinition.RuleSet) throws(StrategyError) {
        for (name, value) in set.params.sorted(by: { $0.key < $1.key }) where !value.isFinite {
            throw StrategyError(field: "params[\"\(name)\"]", message: "must be a finite number, is \(value)")
        }
        let percents = [
            ("stop_loss_pct", set.stopLossPct), ("take_profit_pct", set.takeProfitPct),
            ("trailing_stop_pct", set.trailingStopPct),
        ]
        for (field, v) in percents where !(v.isFinite && v >= 0) {
            throw StrategyError(field: field, message: "must be a finite percentage >= 0 (0 = none), is \(v)")
        }
        if set.stopLossPct >= 100 {
            throw StrategyError(field: "stop_loss_pct", message: "must be below 100, is \(set.stopLossPct)")
        }
        if set.trailingStopPct >= 100 {
            throw StrategyError(field: "trailing_stop_pct", message: "must be below 100, is \(set.trailingStopPct)")
        }
        guard set.rules.contains(where: { $0.kind == .entryLong || $0.kind == .entryShort }) else {
            throw StrategyError(field: "rules", message: "expected at least one entry_long or entry_short rule")
        }
        var seen = Set<String>()
        for rule in set.rules {
            guard !rule.name.isEmpty else { throw StrategyError(field: "rules", message: "every rule needs a name") }
            guard !Self.reservedRuleNames.contains(rule.name) else {
                throw StrategyError(
                    rule: rule.name,
                    message:
                        "the names E1, ZE1, TS and END are kept for stop-loss, take-profit, trailing-stop and end-of-data exits"
                )
            }
            guard seen.insert(rule.name).inserted else {
                throw StrategyError(rule: rule.name, message: "two rules have this name; rule names must be unique")
            }
        }
    }

    static let reservedRuleNames: Set<String> = ["E1", "ZE1", "TS", "END"]

    private func error(_ message: String, at position: Int) -> StrategyError {
        StrategyError(rule: ruleName, position: position, message: message)
    }

    private mutating func newSlot() -> Int32 {
        slotCount += 1
        return Int32(slotCount - 1)
    }

    private mutating func ring(for slot: Int32, lag: Int) -> Int32 {
        if let r = ringOfSlot[slot] {
            ringLags[Int(r)] = max(ringLags[Int(r)], lag)
            return r
        }
        let r = Int32(ringSlots.count)
        ringSlots.append(slot)
        ringLags.append(lag)
        ringOfSlot[slot] = r
        return r
    }

    // MARK: constants

    /// The value of a constant subexpression (numbers, parameters and arithmetic on them).
    private func constant(_ e: Expression) throws(StrategyError) -> Double? {
        switch e {
        case .number(let v, _): return v
        case .parameter(let name, let p):
            guard let v = params[name] else {
                let known = params.keys.sorted().map { "$" + $0 }.joined(separator: ", ")
                throw error(
                    "unknown parameter $\(name)"
                        + (known.isEmpty ? " (the strategy has no parameters)" : "; known: \(known)"), at: p)
            }
            return v
        case .negate(let x, _):
            return try constant(x).map { -$0 }
        case .binary(let op, let l, let r, let p):
            guard [.add, .subtract, .multiply, .divide].contains(op), let a = try constant(l), let b = try constant(r)
            else { return nil }
            switch op {
            case .add: return a + b
            case .subtract: return a - b
            case .multiply: return a * b
            default:
                if b == 0 { throw error("division by zero", at: p) }
                return a / b
            }
        default: return nil
        }
    }

    private func wholeNumber(_ e: Expression, what: String, in function: String, min: Int, max: Int = 1_000_000)
        throws(StrategyError) -> Int
    {
        guard let v = try constant(e) else {
            throw error("expected a whole number (or $parameter) for the \(what) of \(function)", at: e.position)
        }
        guard v == v.rounded(), v >= Double(min), v <= Double(max) else {
            throw error(
                "the \(what) of \(function) must be a whole number from \(min) to \(max), is \(v)", at: e.position)
        }
        return Int(v)
    }

    // MARK: series

    /// A slot holding `e`'s value on every bar (computed whether or not a rule reads it).
    private mutating func seriesSlot(_ e: Expression) throws(StrategyError) -> (Int32, ValueType) {
        switch e {
        case .field(let name, let p):
            guard let slot = FieldSlot.named(name) else { throw unknownName(name, at: p) }
            guard slot != FieldSlot.position else {
                throw error(
                    "position can be used only directly in a rule, not inside an indicator, lookback or crossing", at: p
                )
            }
            return (slot, .number)
        case .call(let name, let args, let p):
            if name == "crosses_above" || name == "crosses_below" { break }
            return (try indicator(name, args, at: p), .number)
        case .lookback(let x, let lagExpr, let p):
            let lag = try wholeNumber(lagExpr, what: "lookback", in: "[]", min: 0)
            let (s, type) = try seriesSlot(x)
            if lag == 0 { return (s, type) }
            let key = "lag(\(s),\(lag))"
            if let slot = indicatorSlots[key] { return (slot, type) }
            let r = ring(for: s, lag: lag)
            let out = newSlot()
            parts.steps.append(.lag(ring: r, lag: Int32(lag), output: out))
            indicatorSlots[key] = out
            _ = p  // the lookback's own position is not needed: errors point at its parts
            return (out, type)
        default:
            break
        }
        if let v = try constant(e) {
            let out = newSlot()
            parts.steps.append(.constant(v, output: out))
            return (out, .number)
        }
        var code: [Instruction] = []
        let type = try emit(e, into: &code, inSeries: true)
        let start = parts.code.count
        parts.code.append(contentsOf: code)
        let out = newSlot()
        parts.steps.append(.expression(start: Int32(start), end: Int32(parts.code.count), output: out, rule: ruleIndex))
        return (out, type)
    }

    private func unknownName(_ name: String, at p: Int) -> StrategyError {
        if Self.functions[name] != nil {
            return error("\(name) is a function; expected \"(\" and its arguments after it", at: p)
        }
        return error(
            "unknown field \"\(name)\"; expected open, high, low, close, volume, price, size, position, a function call or a $parameter",
            at: p)
    }

    /// (min, max) argument counts; arguments after the first series are whole numbers.
    static let functions: [String: (min: Int, max: Int)] = [
        "sma": (2, 2), "ema": (2, 2), "wma": (2, 2), "stddev": (2, 2), "highest": (2, 2), "lowest": (2, 2),
        "roc": (2, 2), "momentum": (2, 2), "rsi": (1, 2),
        "macd": (1, 4), "macd_signal": (1, 4), "macd_hist": (1, 4),
        "bbands_upper": (1, 3), "bbands_middle": (1, 3), "bbands_lower": (1, 3),
        "atr": (0, 1), "vwap": (0, 1), "volume_ratio": (0, 1),
        "crosses_above": (2, 2), "crosses_below": (2, 2),
    ]

    static let functionSignatures = [
        "sma(x, n)", "ema(x, n)", "wma(x, n)", "stddev(x, n)", "highest(x, n)", "lowest(x, n)", "roc(x, n)",
        "momentum(x, n)", "rsi(x, n=14)", "macd(x, fast=12, slow=26, signal=9)", "macd_signal(...)", "macd_hist(...)",
        "bbands_upper(x, n=20, k=2)", "bbands_middle(...)", "bbands_lower(...)", "atr(n=14)", "vwap(n=0: whole run)",
        "volume_ratio(n=20)", "crosses_above(a, b)", "crosses_below(a, b)",
    ]

    private mutating func indicator(_ name: String, _ args: [Expression], at p: Int) throws(StrategyError) -> Int32 {
        guard let arity = Self.functions[name] else {
            throw error(
                "unknown function \"\(name)\"; expected one of " + Self.functionSignatures.joined(separator: ", "),
                at: p)
        }
        guard args.count >= arity.min && args.count <= arity.max else {
            let expected = arity.min == arity.max ? "\(arity.min)" : "\(arity.min) to \(arity.max)"
            throw error("\(name) takes \(expected) arguments, found \(args.count)", at: p)
        }
        func number(_ i: Int, _ what: String, default d: Int, min: Int = 1) throws(StrategyError) -> Int {
            i < args.count ? try wholeNumber(args[i], what: what, in: name, min: min) : d
        }
        // Indicators of the bar itself.
        switch name {
        case "atr", "vwap", "volume_ratio":
            let n =
                name == "vwap"
                ? try number(0, "period", default: 0, min: 0)
                : try number(0, "period", default: name == "atr" ? 14 : 20)
            let key = "\(name)(\(n))"
            if let slot = indicatorSlots[key] { return slot }
            let out = newSlot()
            switch name {
            case "atr":
                parts.steps.append(.atr(Int32(parts.atr.count), output: out))
                parts.atr.append(AverageTrueRange(period: n))
            case "vwap":
                parts.steps.append(.vwap(Int32(parts.vwap.count), output: out))
                parts.vwap.append(VolumeWeightedPrice(period: n, arena: parts.arena))
            default:
                parts.steps.append(.volumeRatio(Int32(parts.sma.count), output: out))
                parts.sma.append(RollingMean(period: n, arena: parts.arena))
            }
            indicatorSlots[key] = out
            parts.warmupSlots.append(out)
            return out
        default:
            break
        }
        let (input, type) = try seriesSlot(args[0])
        guard type == .number else {
            throw error(
                "the first argument of \(name) must be a number series, found a condition", at: args[0].position)
        }
        switch name {
        case "macd", "macd_signal", "macd_hist":
            let f = try number(1, "fast period", default: 12), s = try number(2, "slow period", default: 26),
                g = try number(3, "signal period", default: 9)
            let key = "macd(\(input),\(f),\(s),\(g))"
            let base: Int32
            if let slot = indicatorSlots[key] {
                base = slot
            } else {
                base = newSlot()
                _ = newSlot()
                _ = newSlot()
                parts.steps.append(
                    .macd(Int32(parts.macd.count), input: input, line: base, signal: base + 1, histogram: base + 2))
                parts.macd.append(MACD(fast: f, slow: s, signal: g))
                indicatorSlots[key] = base
            }
            let out = base + (name == "macd" ? 0 : name == "macd_signal" ? 1 : 2)
            if !parts.warmupSlots.contains(out) { parts.warmupSlots.append(out) }
            return out
        case "bbands_upper", "bbands_middle", "bbands_lower":
            let n = try number(1, "period", default: 20)
            var k = 2.0
            if args.count > 2 {
                guard let v = try constant(args[2]), v.isFinite, v >= 0 else {
                    throw error("the width of \(name) must be a number >= 0 (or $parameter)", at: args[2].position)
                }
                k = v
            }
            let key = "bbands(\(input),\(n),\(k))"
            let base: Int32
            if let slot = indicatorSlots[key] {
                base = slot
            } else {
                base = newSlot()
                _ = newSlot()
                _ = newSlot()
                parts.steps.append(
                    .bbands(Int32(parts.bbands.count), input: input, upper: base, middle: base + 1, lower: base + 2))
                parts.bbands.append(BollingerBands(period: n, width: k, arena: parts.arena))
                indicatorSlots[key] = base
            }
            let out = base + (name == "bbands_upper" ? 0 : name == "bbands_middle" ? 1 : 2)
            if !parts.warmupSlots.contains(out) { parts.warmupSlots.append(out) }
            return out
        default:
            break
        }
        let n = try number(1, "period", default: 14)
        let key = "\(name)(\(input),\(n))"
        if let slot = indicatorSlots[key] { return slot }
        let out = newSlot()
        let arena = parts.arena
        switch name {
        case "sma":
            parts.steps.append(.sma(Int32(parts.sma.count), input: input, output: out))
            parts.sma.append(RollingMean(period: n, arena: arena))
        case "ema":
            parts.steps.append(.ema(Int32(parts.ema.count), input: input, output: out))
            parts.ema.append(ExponentialMean(period: n))
        case "wma":
            parts.steps.append(.wma(Int32(parts.wma.count), input: input, output: out))
            parts.wma.append(WeightedMean(period: n, arena: arena))
        case "stddev":
            parts.steps.append(.stddev(Int32(parts.stddev.count), input: input, output: out))
            parts.stddev.append(RollingDeviation(period: n, arena: arena))
        case "highest", "lowest":
            parts.steps.append(.extremum(Int32(parts.extremum.count), input: input, output: out))
            parts.extremum.append(RollingExtremum(period: n, highest: name == "highest", arena: arena))
        case "rsi":
            parts.steps.append(.rsi(Int32(parts.rsi.count), input: input, output: out))
            parts.rsi.append(WilderRSI(period: n))
        case "roc":
            parts.steps.append(.roc(Int32(parts.lagged.count), input: input, output: out))
            parts.lagged.append(LaggedValue(lag: n, arena: arena))
        default:
            parts.steps.append(.momentum(Int32(parts.lagged.count), input: input, output: out))
            parts.lagged.append(LaggedValue(lag: n, arena: arena))
        }
        // An indicator of a field depends on the bars alone: other engines over the same
        // bars may share its column (the key names the same computation in every program).
        if input < FieldSlot.position && name != "roc" && name != "momentum" {
            parts.shareKeys[parts.steps.count - 1] = key
        }
        indicatorSlots[key] = out
        parts.warmupSlots.append(out)
        return out
    }

    // MARK: code

    /// Emits code leaving `e`'s value on the stack and returns its type.
    @discardableResult
    private mutating func emit(_ e: Expression, into code: inout [Instruction], inSeries: Bool) throws(StrategyError)
        -> ValueType
    {
        if let v = try constant(e) {
            code.append(.constant(v))
            return .number
        }
        switch e {
        case .number, .parameter:
            fatalError("constants are folded above")
        case .boolean(let b, _):
            code.append(.constant(b ? 1 : 0))
            return .boolean
        case .field(let name, let p):
            guard let slot = FieldSlot.named(name) else { throw unknownName(name, at: p) }
            if slot == FieldSlot.position && inSeries {
                throw error(
                    "position can be used only directly in a rule, not inside an indicator, lookback or crossing", at: p
                )
            }
            code.append(.load(slot: slot))
            return .number
        case .call(let name, let args, let p) where name == "crosses_above" || name == "crosses_below":
            guard args.count == 2 else { throw error("\(name) takes 2 arguments, found \(args.count)", at: p) }
            try emitCrossing(above: name == "crosses_above", args[0], args[1], into: &code)
            return .boolean
        case .call, .lookback:
            let (slot, type) = try seriesSlot(e)
            code.append(.load(slot: slot))
            return type
        case .negate(let x, let p):
            guard try emit(x, into: &code, inSeries: inSeries) == .number else {
                throw error("expected a number after \"-\", found a condition", at: p)
            }
            code.append(.negate)
            return .number
        case .not(let x, let p):
            guard try emit(x, into: &code, inSeries: inSeries) == .boolean else {
                throw error("expected a condition after \"not\", found a number", at: p)
            }
            code.append(.not)
            return .boolean
        case .binary(let op, let l, let r, let p):
            switch op {
            case .crossesAbove, .crossesBelow:
                try emitCrossing(above: op == .crossesAbove, l, r, into: &code)
                return .boolean
            case .and, .or:
                guard try emit(l, into: &code, inSeries: inSeries) == .boolean else {
                    throw error("expected a condition before \"\(op.rawValue)\", found a number", at: p)
                }
                let jump = code.count
                code.append(.constant(0))  // patched below
                guard try emit(r, into: &code, inSeries: inSeries) == .boolean else {
                    throw error("expected a condition after \"\(op.rawValue)\", found a number", at: p)
                }
                let offset = Int32(code.count - jump)
                code[jump] = op == .and ? .jumpIfFalse(offset: offset) : .jumpIfTrue(offset: offset)
                return .boolean
            default:
                if op == .divide, let d = try constant(r), d == 0 { throw error("division by zero", at: p) }
                let lt = try emit(l, into: &code, inSeries: inSeries)
                let rt = try emit(r, into: &code, inSeries: inSeries)
                guard lt == .number && rt == .number else {
                    throw error("expected numbers on both sides of \"\(op.rawValue)\", found a condition", at: p)
                }
                switch op {
                case .add: code.append(.add)
                case .subtract: code.append(.subtract)
                case .multiply: code.append(.multiply)
                case .divide: code.append(.divide(position: Int32(p)))
                case .less: code.append(.less)
                case .lessEqual: code.append(.lessEqual)
                case .greater: code.append(.greater)
                case .greaterEqual: code.append(.greaterEqual)
                case .equal: code.append(.equal)
                case .notEqual: code.append(.notEqual)
                default: fatalError("handled above")
                }
                return [.add, .subtract, .multiply, .divide].contains(op) ? .number : .boolean
            }
        }
    }

    private mutating func emitCrossing(above: Bool, _ a: Expression, _ b: Expression, into code: inout [Instruction])
        throws(StrategyError)
    {
        let (sa, ta) = try seriesSlot(a)
        let (sb, tb) = try seriesSlot(b)
        guard ta == .number && tb == .number else {
            throw error(
                "a crossing compares two number series, found a condition", at: ta == .number ? b.position : a.position)
        }
        let ra = ring(for: sa, lag: 1), rb = ring(for: sb, lag: 1)
        code.append(
            above
                ? .crossesAbove(a: sa, aRing: ra, b: sb, bRing: rb) : .crossesBelow(a: sa, aRing: ra, b: sb, bRing: rb))
    }
}
