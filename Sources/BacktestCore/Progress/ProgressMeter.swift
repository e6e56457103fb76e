import BacktestEngine
import BacktestStore

/// Turns a run's position (simulated time reached, the engine's account) into progress
/// events and record fields: percent of the range, speed over the last interval, ETA.
struct ProgressMeter {
    let spec: RunRequest
    let clock: any ServiceClock
    let wallStart: Duration
    /// The simulated time reached (a bar counts once it has closed).
    private(set) var simReached: Int64?
    private(set) var events = 0
    private(set) var last: EngineProgress?
    private var rateWall: Duration
    private var rateEvents = 0
    private var eventsPerSecond = 0.0

    init(spec: RunRequest, clock: any ServiceClock, wallStart: Duration) {
        self.spec = spec
        self.clock = clock
        self.wallStart = wallStart
        rateWall = wallStart
    }

    mutating func reached(_ knownTime: Int64, events: Int) {
        simReached = max(simReached ?? knownTime, knownTime)
        self.events = events
    }

    /// Percent of the range done; below 100 until the run completes.
    var progressPct: Double {
        guard let sim = simReached else { return 0 }
        let span = Double(spec.range.end - spec.range.start)
        let pct = Double(sim - spec.range.start) / span * 100
        return min(max(pct, 0), 99.99)
    }

    /// Copies the current position into the session record (persisted periodically);
    /// later events carry the same figures.
    mutating func fill(_ record: inout SessionRecord, _ engine: EngineProgress) {
        last = engine
        events = engine.eventsProcessed
        record.progressPct = progressPct
        record.simTime = simReached
        record.eventsProcessed = UInt64(engine.eventsProcessed)
        record.finalPnl = engine.equity - spec.config.initialCapital
        record.totalTrades = UInt64(engine.closedTrades)
    }

    mutating func event(record: SessionRecord, engine: EngineProgress?, kind: RunProgress.Kind) -> RunProgress {
        if let engine { last = engine }
        let now = clock.now
        let dt = now - rateWall
        if dt >= .milliseconds(50) {
            eventsPerSecond = Double(events - rateEvents) / dt.seconds
            rateWall = now
            rateEvents = events
        }
        var e = RunProgress(sessionId: record.id, kind: kind, state: record.state)
        e.progressPct = progressPct
        e.simTime = simReached
        if let p = last {
            e.equity = p.equity
            e.cash = p.cash
            e.realizedPnl = p.realizedPnl
            e.unrealizedPnl = p.unrealizedPnl
            e.drawdownPct = p.drawdownPct
            e.maxDrawdownPct = p.maxDrawdownPct
            e.openPositions = max(0, p.openPositions)
            e.positionSize = p.positionSize
            e.trades = UInt64(max(0, p.closedTrades))
            e.eventsProcessed = UInt64(max(0, p.eventsProcessed))
        } else {
            e.equity = spec.config.initialCapital
            e.cash = spec.config.initialCapital
        }
        e.eventsPerSecond = eventsPerSecond
        e.eta = eta(now: now)
        e.wallTime = clock.wallMicros
        return e
    }

    /// Paced runs: the simulated time left over the factor. Unthrottled: the elapsed
    /// wall time scaled by the fraction left. Unknown before any progress.
    private func eta(now: Duration) -> Duration? {
        guard let sim = simReached else { return nil }
        let left = max(0, spec.range.end - sim)
        if spec.accelerationFactor > 0 {
            return .microseconds(Int64(min(Double(left) / spec.accelerationFactor, 1e15)))
        }
        let done = Double(sim - spec.range.start)
        guard done > 0 else { return nil }
        let elapsed = (now - wallStart).seconds
        return .microseconds(Int64(min(elapsed * Double(left) / done * 1e6, 1e15)))
    }
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) * 1e-18
    }
}
