/// A rule's code range and id, as the per-bar loop reads it (no strings).
struct RuleCode {
    var start: Int32
    var end: Int32
    var id: Int32
    /// A rule that is a single crossing runs without the stack machine:
    /// 0 = no, 1 = crosses above, 2 = crosses below; then a, its ring, b, its ring.
    var crossing: Int32 = 0
    var a: Int32 = 0
    var aRing: Int32 = 0
    var b: Int32 = 0
    var bRing: Int32 = 0
}

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
