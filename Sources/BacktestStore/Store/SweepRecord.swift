import BacktestEngine

/// The stored record of one parameter sweep (docs/DESIGN.md section 13): what it runs,
/// how it ranks, how far it got. The accepted request is opaque bytes, as a session's.
public struct SweepRecord: Sendable, Equatable {
    public var id: String
    /// The same lifecycle as a session's.
    public var state: SessionState
    public var symbol: String
    public var timeframe: String
    public var range: TimeRange
    public var strategyName: String
    /// The accepted StartSweep request, encoded by the service.
    public var request: [UInt8]
    /// The statistic ranked by (its contract name, `sharpe_ratio`) and the direction.
    public var objective: String
    public var maximize: Bool
    /// Combinations in the sweep, done so far, and among those the ones that failed.
    public var total: UInt64
    public var done: UInt64
    public var failed: UInt64
    /// How many of the best get full results (trades, equity) as sessions.
    public var topK: Int
    /// The best combination so far and its objective value (NaN while none).
    public var bestCombination: Int64?
    public var bestValue: Double
    public var createdAt: Int64
    public var startedAt: Int64?
    public var completedAt: Int64?
    public var errorMessage: String
    public var stopReason: String
    /// A walk-forward's stitched out-of-sample statistics and the session holding its
    /// trades and equity (docs/DESIGN.md section 13.9); nil and empty otherwise.
    public var stitchedStatistics: BacktestStatistics?
    public var stitchedSessionId: String

    public init(
        id: String, state: SessionState, symbol: String, timeframe: String, range: TimeRange, strategyName: String,
        request: [UInt8], objective: String, maximize: Bool, total: UInt64, done: UInt64 = 0, failed: UInt64 = 0,
        topK: Int, bestCombination: Int64? = nil, bestValue: Double = .nan, createdAt: Int64,
        startedAt: Int64? = nil, completedAt: Int64? = nil, errorMessage: String = "", stopReason: String = "",
        stitchedStatistics: BacktestStatistics? = nil, stitchedSessionId: String = ""
    ) {
        self.id = id
        self.state = state
        self.symbol = symbol
        self.timeframe = timeframe
        self.range = range
        self.strategyName = strategyName
        self.request = request
        self.objective = objective
        self.maximize = maximize
        self.total = total
        self.done = done
        self.failed = failed
        self.topK = topK
        self.bestCombination = bestCombination
        self.bestValue = bestValue
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.errorMessage = errorMessage
        self.stopReason = stopReason
        self.stitchedStatistics = stitchedStatistics
        self.stitchedSessionId = stitchedSessionId
    }

    // NaN (no best yet) equals NaN here: records compare by content.
    public static func == (a: Self, b: Self) -> Bool {
        a.id == b.id && a.state == b.state && a.symbol == b.symbol && a.timeframe == b.timeframe
            && a.range == b.range && a.strategyName == b.strategyName && a.request == b.request
            && a.objective == b.objective && a.maximize == b.maximize && a.total == b.total && a.done == b.done
            && a.failed == b.failed && a.topK == b.topK && a.bestCombination == b.bestCombination
            && (a.bestValue == b.bestValue || (a.bestValue.isNaN && b.bestValue.isNaN))
            && a.createdAt == b.createdAt && a.startedAt == b.startedAt && a.completedAt == b.completedAt
            && a.errorMessage == b.errorMessage && a.stopReason == b.stopReason
            && a.stitchedStatistics == b.stitchedStatistics && a.stitchedSessionId == b.stitchedSessionId
    }
}

/// One parameter's value in a combination.
public struct SweepParam: Sendable, Equatable, Codable {
    public var name: String
    public var value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }
}

/// One combination of a sweep and what it gave: the statistics, or why it failed, and
/// for the best few the session holding their full results.
public struct SweepResultRow: Sendable, Equatable, Codable {
    /// Its number in the sweep, 0-based, in the order the sweep lists its combinations.
    public var combination: Int64
    /// In the order of the sweep's axes.
    public var params: [SweepParam]
    public var statistics: BacktestStatistics?
    /// Why the combination failed (a rule that divides by zero, a period out of range).
    public var error: String
    /// The session with its trades and equity curve; empty unless among the best.
    public var sessionId: String

    public init(
        combination: Int64, params: [SweepParam], statistics: BacktestStatistics?, error: String = "",
        sessionId: String = ""
    ) {
        self.combination = combination
        self.params = params
        self.statistics = statistics
        self.error = error
        self.sessionId = sessionId
    }
}

/// A page of a sweep's results sorted by one statistic. Rows without that statistic
/// (NaN, or a failed combination) come last either way; ties go by combination.
public struct SweepResultQuery: Sendable, Equatable {
    public var sweepId: String
    /// The statistic's key in `BacktestStatistics` (`sharpeRatio`).
    public var sortKey: String
    public var descending: Bool
    public var pageSize: Int
    /// The previous page's `nextPageToken`; empty = the first page.
    public var pageToken: String

    public init(sweepId: String, sortKey: String, descending: Bool, pageSize: Int = 100, pageToken: String = "") {
        self.sweepId = sweepId
        self.sortKey = sortKey
        self.descending = descending
        self.pageSize = pageSize
        self.pageToken = pageToken
    }
}

public struct SweepResultPage: Sendable, Equatable {
    public var rows: [SweepResultRow]
    /// Empty on the last page.
    public var nextPageToken: String

    public init(rows: [SweepResultRow], nextPageToken: String) {
        self.rows = rows
        self.nextPageToken = nextPageToken
    }
}

/// ListSweeps: newest first (created_at, then id, descending), optionally by state.
public struct SweepQuery: Sendable, Equatable {
    public var states: Set<SessionState> = []
    public var pageSize: Int = 100
    public var pageToken: String = ""

    public init() {}
}

public struct SweepPage: Sendable, Equatable {
    public var sweeps: [SweepRecord]
    public var nextPageToken: String

    public init(sweeps: [SweepRecord], nextPageToken: String) {
        self.sweeps = sweeps
        self.nextPageToken = nextPageToken
    }
}
