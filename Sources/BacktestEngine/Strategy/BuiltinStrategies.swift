/// The strategies that ship with the engine, as rule sets in the strategy language.
enum BuiltinStrategies {
    struct Parameter: Sendable, Equatable {
        var name: String
        var defaultValue: Double
        var help: String
    }

    static let names = ["default", "sma_cross"]

    static func parameters(of name: String) -> [Parameter]? {
        switch name {
        case "default":
            return [
                Parameter(name: "momentum", defaultValue: 0.001, help: "enter when close / close[1] - 1 is above this"),
                Parameter(name: "volume_period", defaultValue: 20, help: "bars in the volume average"),
                Parameter(
                    name: "volume_ratio", defaultValue: 1.5, help: "enter when volume / its average is above this"),
                Parameter(name: "stop_loss_pct", defaultValue: 5, help: "stop-loss (E1), percent below the entry"),
                Parameter(
                    name: "take_profit_pct", defaultValue: 10, help: "take-profit (ZE1), percent above the entry"),
                Parameter(name: "trailing_stop_pct", defaultValue: 0, help: "trailing stop (TS), percent; 0 = none"),
            ]
        case "sma_cross":
            return [
                Parameter(name: "n1", defaultValue: 10, help: "bars in the fast simple moving average"),
                Parameter(name: "n2", defaultValue: 20, help: "bars in the slow simple moving average"),
            ]
        default:
            return nil
        }
    }

    /// The rule set of a built-in strategy with parameter overrides.
    static func ruleSet(name: String, overrides: [String: Double]) throws(StrategyError) -> StrategyDefinition.RuleSet {
        guard let parameters = parameters(of: name) else {
            throw StrategyError(
                field: "name",
                message: "unknown built-in strategy \"\(name)\"; expected one of " + names.joined(separator: ", "))
        }
        var params: [String: Double] = [:]
        for p in parameters { params[p.name] = p.defaultValue }
        for key in overrides.keys.sorted() {
            guard params[key] != nil else {
                throw StrategyError(
                    field: "params[\"\(key)\"]",
                    message: "\(name) has no parameter \"\(key)\"; it has "
                        + parameters.map(\.name).joined(separator: ", "))
            }
            params[key] = overrides[key]
        }
        switch name {
        case "default":
            // The seed's strategy: momentum with a volume surge (S1), stop-loss (E1),
            // take-profit (ZE1). The average is checked first so zero-volume data is no error.
            let entry =
                "close / close[1] - 1 > $momentum and sma(volume, $volume_period) > 0"
                + " and volume / sma(volume, $volume_period) > $volume_ratio"
            return StrategyDefinition.RuleSet(
                name: "default", rules: [StrategyDefinition.Rule(name: "S1", kind: .entryLong, expression: entry)],
                stopLossPct: params["stop_loss_pct"]!, takeProfitPct: params["take_profit_pct"]!,
                trailingStopPct: params["trailing_stop_pct"]!, params: params)
        default:
            // backtesting.py's SmaCross: on a crossing, close and reverse (always in the market).
            return StrategyDefinition.RuleSet(
                name: "sma_cross",
                rules: [
                    StrategyDefinition.Rule(
                        name: "CROSS_UP", kind: .entryLong,
                        expression: "crosses_above(sma(close, $n1), sma(close, $n2))"),
                    StrategyDefinition.Rule(
                        name: "CROSS_DOWN", kind: .entryShort,
                        expression: "crosses_below(sma(close, $n1), sma(close, $n2))"),
                ],
                params: params, sameSideEntry: .reopen)
        }
    }
}
