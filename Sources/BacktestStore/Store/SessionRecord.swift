import BacktestEngine

/// Where a session is in its life: started -> running -> completed | failed | stopped.
public enum SessionState: String, Sendable, Equatable, Hashable, CaseIterable, Codable {
    case started, running, completed, failed, stopped

    public var isTerminal: Bool { self == .completed || self == .failed || self == .stopped }
}

/// The stored record of one backtest session. The store keeps the accepted request as
/// opaque bytes (the service's encoded StartBacktestRequest) so it needs no knowledge
/// of the RPC contract.
public struct SessionRecord: Sendable, Equatable, Codable {
    public var id: String
    public var state: SessionState
    public var symbol: String
    public var timeframe: String
    public var range: TimeRange
    public var strategyName: String
    public var accelerationFactor: Double
    /// The accepted request, encoded by the service.
    public var request: [UInt8]
    /// Empty when the client gave none.
    public var clientRequestId: String
    public var labels: [String: String]
    public var progressPct: Double
    /// The simulated time reached; nil before the first event.
    public var simTime: Int64?
    public var eventsProcessed: UInt64
    public var finalPnl: Double
    public var totalTrades: UInt64
    public var winRatePct: Double
    /// Set once completed.
    public var statistics: BacktestStatistics?
    /// Wall-clock times, microseconds since the epoch.
    public var createdAt: Int64
    public var startedAt: Int64?
    public var completedAt: Int64?
    public var errorMessage: String
    public var stopReason: String

    public init(
        id: String, state: SessionState, symbol: String, timeframe: String, range: TimeRange,
        strategyName: String, accelerationFactor: Double, request: [UInt8], clientRequestId: String = "",
        labels: [String: String] = [:], progressPct: Double = 0, simTime: Int64? = nil,
        eventsProcessed: UInt64 = 0, finalPnl: Double = 0, totalTrades: UInt64 = 0,
        winRatePct: Double = .nan, statistics: BacktestStatistics? = nil, createdAt: Int64,
        startedAt: Int64? = nil, completedAt: Int64? = nil, errorMessage: String = "", stopReason: String = ""
    ) {
        self.id = id
        self.state = state
        self.symbol = symbol
        self.timeframe = timeframe
        self.range = range
        self.strategyName = strategyName
        self.accelerationFactor = accelerationFactor
        self.request = request
        self.clientRequestId = clientRequestId
        self.labels = labels
        self.progressPct = progressPct
        self.simTime = simTime
        self.eventsProcessed = eventsProcessed
        self.finalPnl = finalPnl
        self.totalTrades = totalTrades
        self.winRatePct = winRatePct
        self.statistics = statistics
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.errorMessage = errorMessage
        self.stopReason = stopReason
    }

    // NaN (the win rate of no trades) equals NaN here: records compare by content.
    public static func == (a: Self, b: Self) -> Bool {
        a.id == b.id && a.state == b.state && a.symbol == b.symbol && a.timeframe == b.timeframe
            && a.range == b.range && a.strategyName == b.strategyName
            && a.accelerationFactor == b.accelerationFactor && a.request == b.request
            && a.clientRequestId == b.clientRequestId && a.labels == b.labels
            && a.progressPct == b.progressPct && a.simTime == b.simTime
            && a.eventsProcessed == b.eventsProcessed && a.finalPnl == b.finalPnl
            && a.totalTrades == b.totalTrades
            && (a.winRatePct == b.winRatePct || (a.winRatePct.isNaN && b.winRatePct.isNaN))
            && a.statistics == b.statistics && a.createdAt == b.createdAt && a.startedAt == b.startedAt
            && a.completedAt == b.completedAt && a.errorMessage == b.errorMessage && a.stopReason == b.stopReason
    }
}
