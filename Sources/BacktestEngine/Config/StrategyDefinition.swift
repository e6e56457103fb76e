/// A strategy as data: a built-in one by name, or expression rules.
public enum StrategyDefinition: Sendable, Equatable {
    /// "default" or "sma_cross", with parameter overrides by name.
    case builtin(name: String, params: [String: Double])
    case rules(RuleSet)

    public enum RuleKind: Sendable, Equatable {
        case entryLong, exitLong, entryShort, exitShort
    }

    public struct Rule: Sendable, Equatable {
        public var name: String
        public var kind: RuleKind
        public var expression: String

        public init(name: String, kind: RuleKind, expression: String) {
            self.name = name
            self.kind = kind
            self.expression = expression
        }
    }

    public struct RuleSet: Sendable, Equatable {
        public var name: String
        public var rules: [Rule]
        /// Percent distances; 0 = none.
        public var stopLossPct: Double
        public var takeProfitPct: Double
        public var trailingStopPct: Double
        public var params: [String: Double]
        /// What an entry signal does while a position on its side is open.
        public var sameSideEntry: SameSideEntry

        public init(
            name: String, rules: [Rule], stopLossPct: Double = 0, takeProfitPct: Double = 0,
            trailingStopPct: Double = 0, params: [String: Double] = [:], sameSideEntry: SameSideEntry = .ignore
        ) {
            self.name = name
            self.rules = rules
            self.stopLossPct = stopLossPct
            self.takeProfitPct = takeProfitPct
            self.trailingStopPct = trailingStopPct
            self.params = params
            self.sameSideEntry = sameSideEntry
        }
    }

    /// The name shown for the strategy.
    public var displayName: String {
        switch self {
        case .builtin(let name, _): return name
        case .rules(let set): return set.name.isEmpty ? "rules" : set.name
        }
    }
}
