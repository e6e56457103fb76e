import BacktestStore

/// Which ended sessions the server keeps (`backtestd --retain-age`, `--retain-count`):
/// those that ended within `maxAge`, and of those only the newest `maxCount` by
/// creation. STARTED and RUNNING sessions are never counted or deleted.
public struct RetentionPolicy: Sendable, Equatable {
    /// Ended sessions that ended longer ago than this go; nil = any age.
    public var maxAge: Duration?
    /// Only this many ended sessions stay, the newest; nil = any number.
    public var maxCount: Int?

    public init(maxAge: Duration? = nil, maxCount: Int? = nil) {
        self.maxAge = maxAge
        self.maxCount = maxCount.map { max(0, $0) }
    }

    public var keepsEverything: Bool { maxAge == nil && maxCount == nil }

    /// Whether an ended session goes: `rank` is its place among ended sessions, newest
    /// first (0 = the newest); `now` the wall clock in microseconds.
    func expires(_ record: SessionRecord, rank: Int, now: Int64) -> Bool {
        if let maxCount, rank >= maxCount { return true }
        guard let cutoff = ageCutoff(now: now) else { return false }
        // A session recovered as interrupted has an end time too; one without falls
        // back on its creation.
        return (record.completedAt ?? record.createdAt) < cutoff
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
