import BacktestCore
import BacktestEngine
import BacktestProto

/// StartBacktestRequest -> the core's RunRequest. Checks what only the message can get
/// wrong (a missing time or strategy, an unset enum, a malformed duration) and fills
/// in the contract's defaults; every value rule is the core's and the engine's. The
/// request as accepted (defaults filled in) is encoded for storage and dedup.
enum StartRequestMapping {
    static func runRequest(_ request: StartBacktestRequest) throws(ServiceError) -> RunRequest {
        var accepted = request
        let timeframe = try RunRequest.timeframe(request.timeframe, field: "timeframe")
        accepted.timeframe = timeframe.description
        let start = try time(request.startTime, "start_time")
        let end = try time(request.endTime, "end_time")

        let costs = request.costs ?? Costs()
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
        switch sizingMessage.mode {
        case .unspecified, .allEquity:
            sizing = .allEquity
            sizingMessage.mode = .allEquity
        case .equityFraction: sizing = .equityFraction(sizingMessage.value)
        case .fixedUnits: sizing = .fixedUnits(sizingMessage.value)
        case .fixedNotional: sizing = .fixedNotional(sizingMessage.value)
        }
        accepted.sizing = sizingMessage

        // 0 (or unset) is the default; tick runs store the interval they will use.
        var sampleMicros = RunRequest.defaultEquitySampleMicros
        if let interval = request.equitySampleInterval {
            guard let us = interval.microseconds, us >= 0 else {
                throw .invalid("equity_sample_interval", "must be a valid, non-negative duration")
            }
            if us > 0 { sampleMicros = us }
        }
        if timeframe == .tick { accepted.equitySampleInterval = ProtoDuration(microseconds: sampleMicros) }

        let config = BacktestConfig(
            initialCapital: request.initialCapital, strategy: try strategyDefinition(request.strategy),
            costs: .init(
                commissionFixed: costs.commissionFixed, commissionRate: costs.commissionRate,
                slippageBps: costs.slippageBps),
            fillMode: fillMode, sizing: sizing, fractionalUnits: sizingMessage.fractionalUnits,
            leaveOpenAtEnd: request.leaveOpenAtEnd, equitySampleIntervalMicros: sampleMicros)
        let encoded: [UInt8]
        do {
            encoded = try accepted.serializedBytes()
        } catch {
            throw ServiceError(.internal, "the accepted request does not encode: \(error)", cause: error)
        }
        return RunRequest(
            symbol: request.symbol, timeframe: timeframe, start: start, end: end, config: config,
            accelerationFactor: request.accelerationFactor, clientRequestId: request.clientRequestID,
            labels: request.labels, encoded: encoded)
    }

    static func strategyDefinition(_ spec: StrategySpec?) throws(ServiceError) -> StrategyDefinition {
        guard let kind = spec?.kind else { throw .invalid("strategy", "required (a built-in strategy or rules)") }
        switch kind {
        case .builtin(let builtin):
            guard !builtin.name.isEmpty else {
                throw .invalid(
                    "strategy.builtin.name", "required (\(Engine.builtinStrategyNames.joined(separator: ", ")))")
            }
            return .builtin(name: builtin.name, params: builtin.params)
        case .rules(let set):
            guard !set.rules.isEmpty else { throw .invalid("strategy.rules.rules", "at least one rule is required") }
            var rules: [StrategyDefinition.Rule] = []
            for (i, rule) in set.rules.enumerated() {
                let field = "strategy.rules.rules[\(i)]"
                guard !rule.name.isEmpty else { throw .invalid("\(field).name", "required") }
                guard !rule.expression.isEmpty else { throw .invalid("\(field).expression", "required") }
                let kind: StrategyDefinition.RuleKind
                switch rule.kind {
                case .unspecified:
                    throw .invalid("\(field).kind", "required (entry_long, exit_long, entry_short or exit_short)")
                case .entryLong: kind = .entryLong
                case .exitLong: kind = .exitLong
                case .entryShort: kind = .entryShort
                case .exitShort: kind = .exitShort
                }
                rules.append(.init(name: rule.name, kind: kind, expression: rule.expression))
            }
            return .rules(
                .init(
                    name: set.name, rules: rules, stopLossPct: set.stopLossPct, takeProfitPct: set.takeProfitPct,
                    trailingStopPct: set.trailingStopPct, params: set.params))
        }
    }

    static func time(_ t: ProtoTimestamp?, _ field: String) throws(ServiceError) -> Int64 {
        guard let t else { throw .invalid(field, "required") }
        guard let us = t.microsecondsSinceEpoch else { throw .invalid(field, "not a valid timestamp") }
        return us
    }

    /// An optional time field; an invalid one names the field.
    static func optionalTime(_ t: ProtoTimestamp?, _ field: String) throws(ServiceError) -> Int64? {
        guard let t else { return nil }
        guard let us = t.microsecondsSinceEpoch else { throw .invalid(field, "not a valid timestamp") }
        return us
    }
}
