import BacktestStore

/// What a node says when it has computed a shard (its rows are stored by then).
public struct ShardReport: Sendable, Equatable, Codable {
    public var shard: Int
    public var node: String
    /// Combinations computed, and among those the ones that failed.
    public var done: Int
    public var failed: Int
    /// The shard's best rows by the sweep's objective (at most its top K): the sweep's
    /// best K are among the shards' best K.
    public var best: [SweepResultRow]
    /// Stopped before the end (the sweep is stopping): `done` counts what was stored.
    public var stopped: Bool
    /// Set when the node could not compute it at all (the sweep fails with it).
    public var error: String

    public init(
        shard: Int, node: String, done: Int, failed: Int, best: [SweepResultRow], stopped: Bool = false,
        error: String = ""
    ) {
        self.shard = shard
        self.node = node
        self.done = done
        self.failed = failed
        self.best = best
        self.stopped = stopped
        self.error = error
    }
}
