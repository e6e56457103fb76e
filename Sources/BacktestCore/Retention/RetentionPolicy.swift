import BacktestStore

/// Which ended sessions and sweeps the server keeps (`backtestd --retain-age`,
/// `--retain-count`, `--retain-sweeps`): those that ended within `maxAge`, and of those
/// only the newest `maxCount` sessions and `maxSweepCount` sweeps by creation, each
/// counted on its own. STARTED and RUNNING ones are never counted or deleted; nor are a
/// stored sweep's sessions as sessions: they go with their sweep.
public struct RetentionPolicy: Sendable, Equatable {
    /// Ended sessions and sweeps that ended longer ago than this go; nil = any age.
    public var maxAge: Duration?
    /// Only this many ended sessions stay, the newest; nil = any number.
    public var maxCount: Int?
    /// Only this many ended sweeps stay, the newest; nil = any number.
    public var maxSweepCount: Int?

    public init(maxAge: Duration? = nil, maxCount: Int? = nil, maxSweepCount: Int? = nil) {
        self.maxAge = maxAge
        self.maxCount = maxCount.map { max(0, $0) }
        self.maxSweepCount = maxSweepCount.map { max(0, $0) }
    }

    public var keepsEverything: Bool { maxAge == nil && maxCount == nil && maxSweepCount == nil }

    /// Whether an ended session goes: `rank` is its place among ended sessions, newest
    /// first (0 = the newest); `now` the wall clock in microseconds.
    func expires(_ record: SessionRecord, rank: Int, now: Int64) -> Bool {
        // A session recovered as interrupted has an end time too; one without falls
        // back on its creation.
        expires(endedAt: record.completedAt ?? record.createdAt, rank: rank, limit: maxCount, now: now)
    }

    /// Whether an ended sweep goes: `rank` is its place among ended sweeps, newest first.
    func expires(_ record: SweepRecord, rank: Int, now: Int64) -> Bool {
        expires(endedAt: record.completedAt ?? record.createdAt, rank: rank, limit: maxSweepCount, now: now)
    }

    private func expires(endedAt: Int64, rank: Int, limit: Int?, now: Int64) -> Bool {
        if let limit, rank >= limit { return true }
        guard let cutoff = ageCutoff(now: now) else { return false }
        return endedAt < cutoff
    }

    /// Sessions that ended before this (microseconds) are past `maxAge`.
    func ageCutoff(now: Int64) -> Int64? {
        maxAge.map { age in
            let (seconds, attoseconds) = age.components
            let micros = seconds.multipliedReportingOverflow(by: 1_000_000)
            guard !micros.overflow else { return Int64.min }
            return now &- (micros.partialValue &+ attoseconds / 1_000_000_000_000)
        }
    }
}
