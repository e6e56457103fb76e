import BacktestStore

/// The other nodes, for sweeps (docs/ARCHITECTURE.md "Several nodes"): the node that
/// admits a sweep (its coordinator) offers its combinations as shards, every node's
/// `ShardWorker` takes shards while it has nothing else to compute, stores their rows
/// and reports each shard's counts and best; the coordinator ranks the reports and
/// ends the sweep. Shards a dead node held are offered again, and a dead coordinator's
/// sweeps are adopted by a live node (`SweepMember.adopt`).
public protocol SweepCluster: Sendable {
    var nodeId: String { get }

    /// From now on this node may adopt the sweeps of coordinators that die; the shards
    /// a previous process of this node took and never handed back are offered again.
    func joinSweeps(_ member: any SweepMember) async

    // MARK: A coordinator

    /// Offers `shards` of a sweep (its request as encoded, which every node decodes)
    /// and names this node its coordinator. Offering a shard again is harmless: a
    /// shard's rows are stored by combination, and its report is counted once.
    func offer(_ sweepId: String, request: [UInt8], shards: [SweepShard]) async throws(ServiceError)

    /// The reports after `cursor` ("0": from the first); none while none came.
    func reports(_ sweepId: String, after cursor: String) async throws(ServiceError)
        -> (reports: [ShardReport], cursor: String)

    /// The coordinator's look at its sweep: shards held by dead nodes are offered
    /// again; says whether the broker still holds the offer (it may have restarted
    /// empty) and how many shards are being computed.
    func tend(_ sweepId: String) async throws(ServiceError) -> SweepTending

    /// The latest progress, for watchers and lists on other nodes.
    func announce(_ progress: SweepProgress) async

    /// No node takes more of the sweep's shards (it is stopping).
    func withdraw(_ sweepId: String, reason: String) async

    /// The sweep has ended: its terminal progress stays readable a while, its shards
    /// and reports go.
    func close(_ terminal: SweepProgress) async

    // MARK: Any node

    /// The latest progress of a sweep a node coordinates (or its terminal one, for a
    /// while after it ended); nil when the broker does not know it.
    func latest(_ sweepId: String) async -> SweepProgress?

    /// Whether the broker holds the sweep open (offered, not closed): a live node
    /// coordinates it, or one adopts it once its coordinator is found dead (this node
    /// too, on joining, for its previous process's). False when the broker cannot say.
    func isOpen(_ sweepId: String) async -> Bool

    /// Asks the sweep's coordinator to stop it; UNAVAILABLE when it does not listen.
    func requestStop(_ sweepId: String, reason: String) async throws(ServiceError)

    // MARK: A worker

    /// The next shard of any sweep, taken for this node; nil when none is offered.
    func takeShard() async -> SweepShard.Taken?

    /// Whether the sweep still wants its shards computed (not stopping, not ended).
    func wants(_ sweepId: String) async -> Bool

    /// This node cannot take over `node`'s sweep now (it is leaving, or the store cannot
    /// be read): the sweep goes back to that lost node, whose next reaper (on any node)
    /// tries again.
    func handBack(_ sweepId: String, to node: String) async

    /// Hands back a taken shard: done, with its report; or, without one, to be offered
    /// again (this node is leaving).
    func finish(_ taken: SweepShard.Taken, report: ShardReport?) async
}

/// What the cluster asks of a node's sweeps.
public protocol SweepMember: Sendable {
    /// Another node relays a StopSweep for a sweep this node coordinates.
    func stopRequested(_ sweepId: String, reason: String) async

    /// Coordinates, from here on, a sweep whose coordinator (`node`) died.
    func adopt(_ sweepId: String, request: [UInt8], from node: String) async
}

/// A coordinator's view of its sweep in the broker.
public struct SweepTending: Sendable, Equatable {
    /// False when the broker lost the sweep (restarted empty): offer it again.
    public var offered: Bool
    /// Shards taken and not yet finished.
    public var inFlight: Int
    /// Shards of dead nodes offered again just now.
    public var reclaimed: Int

    public init(offered: Bool, inFlight: Int, reclaimed: Int) {
        self.offered = offered
        self.inFlight = inFlight
        self.reclaimed = reclaimed
    }
}
