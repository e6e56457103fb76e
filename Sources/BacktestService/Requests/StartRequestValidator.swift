import BacktestEngine
import BacktestProto
import RPC

/// Checks a StartBacktest request field by field and turns it into a RunSpec. Every
/// refusal is INVALID_ARGUMENT with a message that starts with the field's name, so a
/// client can tell which input to fix.
enum StartRequestValidator {
    static let maxSymbolBytes = 128
    static let maxClientRequestIdBytes = 128
    static let maxLabels = 64
    static let maxLabelKeyBytes = 128
    static let maxLabelValueBytes = 1024
    /// Tick runs sample the equity curve once a simulated minute unless told otherwise.
    static let defaultEquitySampleMicros: Int64 = 60_000_000

    static func validate(_ request: StartBacktestRequest) throws(RPCError) -> RunSpec {
        var accepted = request

        let symbol = request.symbol
        try checkSymbol(symbol, "symbol")

        guard !request.timeframe.isEmpty else { throw invalid("timeframe", "required (\"tick\", \"1m\", \"1h\", \"1d\", ...)") }
        let timeframe: Timeframe
        do { timeframe = try Timeframe(parsing: request.timeframe) } catch { throw invalid("timeframe", error.description) }
        accepted.timeframe = timeframe.description

        let start = try time(request.startTime, "start_time")
        let end = try time(request.endTime, "end_time")
        guard start < end else { throw invalid("end_time", "must be after start_time") }

        guard request.initialCapital.isFinite, request.initialCapital > 0 else {
            throw invalid("initial_capital", "must be a positive number, got \(request.initialCapital)")
        }

        let costs = request.costs ?? Costs()
        try nonNegative(costs.commissionFixed, "costs.commission_fixed")
        try nonNegative(costs.commissionRate, "costs.commission_rate")
        guard costs.commissionRate < 1 else { throw invalid("costs.commission_rate", "must be below 1 (a fraction: 0.002 = 0.2%)") }
        try nonNegative(costs.slippageBps, "costs.slippage_bps")
        guard costs.slippageBps < 10_000 else { throw invalid("costs.slippage_bps", "must be below 10000 (100%)") }
        accepted.costs = costs

        let fillMode: BacktestConfig.FillMode
        switch request.fillMode {
        case .unspecified, .nextOpen:
            fillMode = .nextOpen
            accepted.fillMode = .nextOpen
        case .onClose:
            fillMode = .onClose
        }

        var sizingMessage = request.sizing ?? Sizing()
        let sizing: BacktestConfig.SizingMode
        let value = sizingMessage.value
        switch sizingMessage.mode {
        case .unspecified, .allEquity:
            sizing = .allEquity
            sizingMessage.mode = .allEquity
        case .equityFraction:
            guard value.isFinite, value > 0, value <= 1 else { throw invalid("sizing.value", "an equity fraction must be in (0, 1], got \(value)") }
            sizing = .equityFraction(value)
        case .fixedUnits:
            guard value.isFinite, value > 0 else { throw invalid("sizing.value", "a number of units must be positive, got \(value)") }
            sizing = .fixedUnits(value)
        case .fixedNotional:
            guard value.isFinite, value > 0 else { throw invalid("sizing.value", "a notional must be positive, got \(value)") }
            sizing = .fixedNotional(value)
        }
        accepted.sizing = sizingMessage

        guard request.accelerationFactor.isFinite, request.accelerationFactor >= 0 else {
            throw invalid("acceleration_factor", "must be 0 (as fast as possible) or positive, got \(request.accelerationFactor)")
        }

        var sampleMicros = defaultEquitySampleMicros
        if let interval = request.equitySampleInterval {
            guard let us = interval.microseconds, us >= 0 else { throw invalid("equity_sample_interval", "must be a valid, non-negative duration") }
            if us > 0 {
                guard us >= 1000 else { throw invalid("equity_sample_interval", "must be at least 1 ms") }
                sampleMicros = us
            }
        }
        if timeframe == .tick { accepted.equitySampleInterval = ProtoDuration(microseconds: sampleMicros) }

        guard request.clientRequestID.utf8.count <= maxClientRequestIdBytes else {
            throw invalid("client_request_id", "longer than \(maxClientRequestIdBytes) bytes")
        }
        guard request.labels.count <= maxLabels else { throw invalid("labels", "more than \(maxLabels) labels") }
        for (key, value) in request.labels.sorted(by: { $0.key < $1.key }) {
            guard !key.isEmpty else { throw invalid("labels", "a label key is empty") }
            guard key.utf8.count <= maxLabelKeyBytes else { throw invalid("labels", "key \"\(key.prefix(32))...\" is longer than \(maxLabelKeyBytes) bytes") }
            guard value.utf8.count <= maxLabelValueBytes else { throw invalid("labels", "value of \"\(key)\" is longer than \(maxLabelValueBytes) bytes") }
        }

        let strategy = try strategyDefinition(request.strategy)
        let config = BacktestConfig(
            initialCapital: request.initialCapital, strategy: strategy,
            costs: .init(commissionFixed: costs.commissionFixed, commissionRate: costs.commissionRate, slippageBps: costs.slippageBps),
            fillMode: fillMode, sizing: sizing, fractionalUnits: sizingMessage.fractionalUnits,
            leaveOpenAtEnd: request.leaveOpenAtEnd, equitySampleIntervalMicros: sampleMicros)
        do {
            try Engine.validate(config)
        } catch {
            throw invalid("strategy", error.description)
        }

        return RunSpec(symbol: symbol, timeframe: timeframe, range: TimeRange(start: start, end: end), config: config,
                       accelerationFactor: request.accelerationFactor, clientRequestId: request.clientRequestID,
                       labels: request.labels, accepted: accepted)
    }

    static func strategyDefinition(_ spec: StrategySpec?) throws(RPCError) -> StrategyDefinition {
        guard let kind = spec?.kind else { throw invalid("strategy", "required (a built-in strategy or rules)") }
        switch kind {
        case .builtin(let builtin):
            guard !builtin.name.isEmpty else { throw invalid("strategy.builtin.name", "required (\(Engine.builtinStrategyNames.joined(separator: ", ")))") }
            for (name, value) in builtin.params.sorted(by: { $0.key < $1.key }) where !value.isFinite {
                throw invalid("strategy.builtin.params", "\"\(name)\" is not a finite number")
            }
            return .builtin(name: builtin.name, params: builtin.params)
        case .rules(let set):
            guard !set.rules.isEmpty else { throw invalid("strategy.rules.rules", "at least one rule is required") }
            var rules: [StrategyDefinition.Rule] = []
            for (i, rule) in set.rules.enumerated() {
                let field = "strategy.rules.rules[\(i)]"
                guard !rule.name.isEmpty else { throw invalid("\(field).name", "required") }
                guard !rule.expression.isEmpty else { throw invalid("\(field).expression", "required") }
                let kind: StrategyDefinition.RuleKind
                switch rule.kind {
                case .unspecified: throw invalid("\(field).kind", "required (entry_long, exit_long, entry_short or exit_short)")
                case .entryLong: kind = .entryLong
                case .exitLong: kind = .exitLong
                case .entryShort: kind = .entryShort
                case .exitShort: kind = .exitShort
                }
                rules.append(.init(name: rule.name, kind: kind, expression: rule.expression))
            }
            for (value, field) in [(set.stopLossPct, "stop_loss_pct"), (set.takeProfitPct, "take_profit_pct"), (set.trailingStopPct, "trailing_stop_pct")] {
                guard value.isFinite, value >= 0 else { throw invalid("strategy.rules.\(field)", "must be 0 (none) or a positive percentage, got \(value)") }
            }
            guard set.stopLossPct < 100 else { throw invalid("strategy.rules.stop_loss_pct", "must be below 100") }
            guard set.trailingStopPct < 100 else { throw invalid("strategy.rules.trailing_stop_pct", "must be below 100") }
            for (name, value) in set.params.sorted(by: { $0.key < $1.key }) where !value.isFinite {
                throw invalid("strategy.rules.params", "\"\(name)\" is not a finite number")
            }
            return .rules(.init(name: set.name, rules: rules, stopLossPct: set.stopLossPct, takeProfitPct: set.takeProfitPct,
                                trailingStopPct: set.trailingStopPct, params: set.params))
        }
    }

    /// A symbol as every request names one: present, bounded, printable.
    static func checkSymbol(_ symbol: String, _ field: String) throws(RPCError) {
        guard !symbol.isEmpty else { throw invalid(field, "required") }
        guard symbol.utf8.count <= maxSymbolBytes else { throw invalid(field, "longer than \(maxSymbolBytes) bytes") }
        guard !symbol.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw invalid(field, "contains a control character")
        }
    }

    static func time(_ t: ProtoTimestamp?, _ field: String) throws(RPCError) -> Int64 {
        guard let t else { throw invalid(field, "required") }
        guard let us = t.microsecondsSinceEpoch else { throw invalid(field, "not a valid timestamp") }
        return us
    }

    static func nonNegative(_ v: Double, _ field: String) throws(RPCError) {
        guard v.isFinite, v >= 0 else { throw invalid(field, "must be a non-negative number, got \(v)") }
    }

    static func invalid(_ field: String, _ message: String) -> RPCError {
        RPCError(.invalidArgument, "\(field): \(message)")
    }
}
