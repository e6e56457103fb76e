/// A rule ready to run: its code range in the program and its name.
struct CompiledRule {
    var name: String
    var kind: StrategyDefinition.RuleKind
    var start: Int
    var end: Int
    /// Index in `Program.ruleNames`.
    var id: Int32
}

/// What an entry signal does while a position on the same side is open.
public enum SameSideEntry: Sendable, Equatable {
    /// Nothing: the position stays (the usual meaning of an entry rule).
    case ignore
    /// Close the trade and open a new one (backtesting.py with exclusive_orders=True).
    case reopen
}
