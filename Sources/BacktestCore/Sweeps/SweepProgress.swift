import BacktestStore

/// One progress report of a sweep: combinations done of the total, the best so far,
/// speed and time left. The protocol layer maps it to its own message.
public struct SweepProgress: HubEvent, Codable {
    public var sweepId: String
    public var sequence: UInt64 = 0
    public var kind: RunProgress.Kind = .update
    public var state: SessionState
    public var total: UInt64
    public var done: UInt64 = 0
    /// Combinations that ended in an error (counted in `done`).
    public var failed: UInt64 = 0
    /// The best combination so far with its statistics; nil before any.
    public var best: SweepResultRow?
    /// Its objective value (NaN while none).
    public var bestValue: Double = .nan
    public var combinationsPerSecond: Double = 0
    /// Time left; nil while unknown.
    public var eta: Duration?
    /// When the event was made (wall clock, microseconds).
    public var wallTime: Int64?
    public var errorMessage: String = ""
    public var stopReason: String = ""
    /// A walk-forward's windows and the one being swept; 0 and 0 for a plain sweep.
    public var windows = 0
    public var window = 0

    public init(sweepId: String, kind: RunProgress.Kind = .update, state: SessionState, total: UInt64) {
        self.sweepId = sweepId
        self.kind = kind
        self.state = state
        self.total = total
    }

    /// An ended sweep's state, from its record (no live job to ask).
    public init(ended r: SweepRecord, best: SweepResultRow?, kind: RunProgress.Kind, sequence: UInt64) {
        self.init(sweepId: r.id, kind: kind, state: r.state, total: r.total)
        self.sequence = sequence
        done = r.done
        failed = r.failed
        self.best = best
        bestValue = r.bestValue
        wallTime = r.completedAt ?? r.createdAt
        if kind == .terminal {
            errorMessage = r.errorMessage
            stopReason = r.stopReason
            eta = .zero
        }
    }
}
