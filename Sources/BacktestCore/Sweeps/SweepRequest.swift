import BacktestEngine
import BacktestStore

/// A parameter sweep in the service's terms: a base backtest, the axes its strategy
/// parameters are swept over, the constraints a combination must meet, and how the
/// results are ranked. A protocol layer builds one from its message; the registry
/// checks it and expands it into a `SweepPlan`.
public struct SweepRequest: Sendable {
    /// The backtest every combination runs, with the swept parameters replaced.
    public var base: RunRequest
    public var axes: [SweepAxis]
    /// Conditions over the axes' names; a combination must meet all of them.
    public var constraints: [String]
    /// The statistic ranked by (`sharpe_ratio`); empty means `sharpe_ratio`.
    public var objective: String
    public var maximize: Bool
    /// How many of the best get full results; 0 means `defaultTopK`.
    public var topK: Int
    /// 0: every combination; N: N of them drawn at random (without repeats) with `seed`.
    public var sampleSize: Int
    public var seed: UInt64
    /// Combinations computed at once; 0 means the registry's limit (the cores).
    public var workers: Int
    /// Set: a walk-forward (docs/DESIGN.md section 13.9) instead of one ranking.
    public var walkForward: WalkForwardSpec?
    /// The request as its protocol encodes it, with defaults filled in (stored).
    public var encoded: [UInt8]
    /// The StartBacktest request of one combination as its protocol encodes it, stored
    /// with the sessions that hold the best combinations' full results.
    public var sessionRequest: @Sendable ([SweepParam]) -> [UInt8]
    /// The request stored with a walk-forward's stitched session: the base request over
    /// the out-of-sample span (its parameters change from window to window).
    public var stitchedRequest: @Sendable (TimeRange) -> [UInt8]

    public static let defaultObjective = "sharpe_ratio"
    public static let defaultTopK = 5

    public init(
        base: RunRequest, axes: [SweepAxis], constraints: [String] = [], objective: String = "",
        maximize: Bool = true, topK: Int = 0, sampleSize: Int = 0, seed: UInt64 = 0, workers: Int = 0,
        walkForward: WalkForwardSpec? = nil, encoded: [UInt8] = [],
        sessionRequest: @escaping @Sendable ([SweepParam]) -> [UInt8] = { _ in [] },
        stitchedRequest: @escaping @Sendable (TimeRange) -> [UInt8] = { _ in [] }
    ) {
        self.base = base
        self.axes = axes
        self.constraints = constraints
        self.objective = objective
        self.maximize = maximize
        self.topK = topK
        self.sampleSize = sampleSize
        self.seed = seed
        self.workers = workers
        self.walkForward = walkForward
        self.encoded = encoded
        self.sessionRequest = sessionRequest
        self.stitchedRequest = stitchedRequest
    }

    /// The swept parameter names a strategy has: a built-in's own, or a rule set's
    /// `params` and the `$name`s its expressions use.
    static func knownParameters(_ strategy: StrategyDefinition) -> Set<String> {
        switch strategy {
        case .builtin(let name, _):
            return Set((Engine.builtinParameters(name) ?? []).map(\.name))
        case .rules(let set):
            var names = Set(set.params.keys)
            for rule in set.rules {
                let chars = Array(rule.expression)
                var i = 0
                while i < chars.count {
                    guard chars[i] == "$" else {
                        i += 1
                        continue
                    }
                    var j = i + 1
                    while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                    if j > i + 1 { names.insert(String(chars[(i + 1)..<j])) }
                    i = j
                }
            }
            return names
        }
    }

    /// The configuration of one combination: the base's, with these parameters set.
    static func config(_ base: BacktestConfig, _ params: [SweepParam]) -> BacktestConfig {
        var config = base
        switch base.strategy {
        case .builtin(let name, var values):
            for p in params { values[p.name] = p.value }
            config.strategy = .builtin(name: name, params: values)
        case .rules(var set):
            for p in params { set.params[p.name] = p.value }
            config.strategy = .rules(set)
        }
        return config
    }
}
