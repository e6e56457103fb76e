/// The backtest engine: pure, synchronous and deterministic. Feed it candles or ticks in
/// batches of any size, read progress between batches (a runner can stop there), take
/// the closed trades and equity samples as they come, and call `finish()` at the end of
/// data for the statistics. One owner at a time (not Sendable).
///
/// Semantics follow backtesting.py 0.6.6 (see docs/DESIGN.md and the notes in
/// `Broker` and `StatisticsAccumulator`).
public final class Engine {
    /// Always set between calls; empty only while a call runs on it (see withCore).
    private var storage: EngineCore?

    /// Compiles the strategy and checks the configuration. With `shared`, the strategy's
    /// indicators of the bars' fields read columns made once for every engine over the
    /// same bars (a parameter sweep's); such an engine must then be fed exactly those
    /// bars, from the first, in order. The results are the same either way.
    public init(config: BacktestConfig, shared: SharedColumns? = nil) throws(StrategyError) {
        let program = try Self.compile(config, shared: shared)
        storage = EngineCore(config: config, program: program)
    }

    /// Checks a configuration (and compiles its strategy) without building an engine.
    public static func validate(_ config: BacktestConfig) throws(StrategyError) {
        _ = try compile(config)
    }

    /// The one home of the configuration's rules. Fields are named by their path in the
    /// service's contract (`costs.commission_rate`, `strategy.rules.stop_loss_pct`), so
    /// a refusal tells a client which input to fix.
    private static func compile(_ config: BacktestConfig, shared: SharedColumns? = nil) throws(StrategyError)
        -> Program
    {
        guard config.initialCapital.isFinite && config.initialCapital > 0 else {
            throw StrategyError(
                field: "initial_capital", message: "must be a finite amount > 0, is \(config.initialCapital)")
        }
        let costs = [
            ("costs.commission_fixed", config.costs.commissionFixed),
            ("costs.commission_rate", config.costs.commissionRate),
            ("costs.slippage_bps", config.costs.slippageBps),
        ]
        for (field, v) in costs where !(v.isFinite && v >= 0) {
            throw StrategyError(field: field, message: "must be finite and >= 0, is \(v)")
        }
        guard config.costs.commissionRate < 1 else {
            throw StrategyError(
                field: "costs.commission_rate",
                message: "is a fraction of the notional and must be below 1, is \(config.costs.commissionRate)")
        }
        guard config.costs.slippageBps < 10_000 else {
            throw StrategyError(
                field: "costs.slippage_bps", message: "must be below 10000 (100%), is \(config.costs.slippageBps)")
        }
        switch config.sizing {
        case .allEquity: break
        case .equityFraction(let f):
            guard f.isFinite && f > 0 && f <= 1 else {
                throw StrategyError(field: "sizing.value", message: "the equity fraction must be in (0, 1], is \(f)")
            }
        case .fixedUnits(let u):
            guard u.isFinite && u > 0 else {
                throw StrategyError(field: "sizing.value", message: "fixed units must be finite and > 0, is \(u)")
            }
            guard config.fractionalUnits || u >= 1 else {
                throw StrategyError(
                    field: "sizing.value", message: "fixed units below 1 need fractional units, is \(u)")
            }
        case .fixedNotional(let n):
            guard n.isFinite && n > 0 else {
                throw StrategyError(field: "sizing.value", message: "the notional must be finite and > 0, is \(n)")
            }
        }
        guard config.equitySampleIntervalMicros > 0 else {
            throw StrategyError(
                field: "equity_sample_interval", message: "must be > 0, is \(config.equitySampleIntervalMicros) µs")
        }
        let set: StrategyDefinition.RuleSet
        let prefix: String
        switch config.strategy {
        case .builtin(let name, let params):
            prefix = "strategy.builtin."
            do {
                set = try BuiltinStrategies.ruleSet(name: name, overrides: params)
            } catch {
                throw error.within(prefix)
            }
        case .rules(let rules):
            prefix = "strategy.rules."
            set = rules
        }
        do {
            return try Compiler.compile(set, shared: shared)
        } catch {
            throw error.within(prefix)
        }
    }

    /// Names of the built-in strategies ("default", "sma_cross").
    public static var builtinStrategyNames: [String] { BuiltinStrategies.names }

    /// A built-in strategy's parameters with their defaults and a line of help each, in a
    /// fixed order; nil for an unknown name.
    public static func builtinParameters(_ name: String) -> [(name: String, defaultValue: Double, help: String)]? {
        BuiltinStrategies.parameters(of: name)?.map { ($0.name, $0.defaultValue, $0.help) }
    }

    /// The strategy language's functions, for help texts.
    public static var functionSignatures: [String] { Compiler.functionSignatures }

    public func process(candles: UnsafeBufferPointer<Candle>) throws(EngineError) {
        try withCore { (core) throws(EngineError) in try core.process(candles: candles) }
    }

    public func process(candles: [Candle]) throws(EngineError) {
        try withCore { (core) throws(EngineError) in
            try candles.withUnsafeBufferPointer { (buffer) throws(EngineError) in try core.process(candles: buffer) }
        }
    }

    public func process(ticks: UnsafeBufferPointer<Tick>) throws(EngineError) {
        try withCore { (core) throws(EngineError) in try core.process(ticks: ticks) }
    }

    public func process(ticks: [Tick]) throws(EngineError) {
        try withCore { (core) throws(EngineError) in
            try ticks.withUnsafeBufferPointer { (buffer) throws(EngineError) in try core.process(ticks: buffer) }
        }
    }

    public var progress: EngineProgress { storage!.progress }

    /// Trades closed since the last call, in trade-number order.
    public func takeTrades() -> [TradeRecord] {
        var out: [TradeRecord] = []
        withCore { core in
            guard !core.broker.closedTrades.isEmpty else { return }
            // The next batch's trades start in room for a typical batch's worth.
            out.reserveCapacity(max(16, core.broker.closedTrades.count))
            swap(&out, &core.broker.closedTrades)
        }
        return out
    }

    /// Equity samples since the last call: one per bar for candles (the last bar's comes
    /// with the next bar or with finish); for ticks one per sample interval plus one at
    /// every tick with a fill (so several may share a time when ticks do, in tick order).
    public func takeEquity() -> [EquitySample] {
        var out: [EquitySample] = []
        withCore { core in
            guard !core.samples.isEmpty else { return }
            // Candle batches bring their own arrays; tick runs append to this one.
            if core.mode == .ticks { out.reserveCapacity(EngineCore.sampleReserve) }
            swap(&out, &core.samples)
        }
        return out
    }

    /// End of data: closes the open position (unless leaveOpenAtEnd: then it is reported
    /// with exitTime nil), computes the statistics. Call once; trades and equity left
    /// are then available from takeTrades/takeEquity.
    public func finish() -> BacktestStatistics {
        var result = BacktestStatistics()
        withCore { core in result = core.finish(leavingOpen: false) }
        return result
    }

    /// A run stopped before the end of data: the statistics of what ran, the open
    /// position left open (reported with exitTime nil, out of the statistics, as with
    /// leaveOpenAtEnd), pending orders dropped. Call once, instead of `finish`.
    public func finishAtStop() -> BacktestStatistics {
        var result = BacktestStatistics()
        withCore { core in result = core.finish(leavingOpen: true) }
        return result
    }

    /// Moves the state into a local for the duration of `body` (no exclusivity checks or
    /// copies in the loop), and back, also when `body` throws.
    private func withCore<E: Error>(_ body: (inout EngineCore) throws(E) -> Void) throws(E) {
        var local = storage.take()!
        defer { storage = local }
        try body(&local)
    }
}
