import BacktestEngine
import BacktestStore

/// One progress report of a session, in the service's terms. The protocol layer
/// maps it to its own message (one mapping per protocol).
public struct RunProgress: HubEvent, Equatable, Codable {
    public enum Kind: Sendable, Equatable, Codable {
        /// The session's state when a watch began.
        case snapshot
        case update
        /// The last event of a session: completed, failed or stopped.
        case terminal
    }

    public var sessionId: String
    /// Increases by one with every event a session publishes.
    public var sequence: UInt64 = 0
    public var kind: Kind = .update
    public var state: SessionState
    public var progressPct: Double = 0
    /// The simulated time reached (microseconds); nil before any data.
    public var simTime: Int64?
    public var equity: Double = 0
    public var cash: Double = 0
    public var realizedPnl: Double = 0
    public var unrealizedPnl: Double = 0
    public var drawdownPct: Double = 0
    public var maxDrawdownPct: Double = 0
    public var openPositions: Int = 0
    public var positionSize: Double = 0
    public var trades: UInt64 = 0
    public var eventsProcessed: UInt64 = 0
    public var eventsPerSecond: Double = 0
    /// Time left; nil while unknown.
    public var eta: Duration?
    /// When the event was made (wall clock, microseconds).
    public var wallTime: Int64?
    /// With a completed terminal event.
    public var statistics: BacktestStatistics?
    public var errorMessage: String = ""
    public var stopReason: String = ""

    public init(sessionId: String, kind: Kind = .update, state: SessionState) {
        self.sessionId = sessionId
        self.kind = kind
        self.state = state
    }

    /// An ended session's state, from its stored record (no live run to ask).
    public init(ended r: SessionRecord, kind: Kind, sequence: UInt64) {
        self.init(sessionId: r.id, kind: kind, state: r.state)
        self.sequence = sequence
        progressPct = r.progressPct
        simTime = r.simTime
        trades = r.totalTrades
        eventsProcessed = r.eventsProcessed
        wallTime = r.completedAt ?? r.createdAt
        if let s = r.statistics {
            equity = s.equityFinal
            cash = s.equityFinal
            maxDrawdownPct = s.maxDrawdownPct
            realizedPnl = s.finalPnl
            if kind == .terminal { statistics = s }
        }
        if kind == .terminal {
            errorMessage = r.errorMessage
            stopReason = r.stopReason
            eta = .zero
        }
    }
}
