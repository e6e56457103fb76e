import BacktestStore

/// The other nodes, for a registry whose store several nodes share (docs/ARCHITECTURE.md
/// "Several nodes"): which node answers for a session, its live events, stop requests
/// between nodes. A registry without one answers for its own sessions only, as a single
/// node does.
///
/// Publishing is best effort: a session runs and stores its results whether or not the
/// broker can be reached; what a publish could not say, the next one (or the node's
/// heartbeat, from `ClusterMember.localActive`) says again.
public protocol SessionCluster: Sendable {
    /// This node's name (the store's owner of the sessions it runs).
    var nodeId: String { get }

    /// Joins: from now on stop requests for this node's sessions reach `member`, the
    /// heartbeat re-announces what it answers for, and other nodes place sessions here
    /// at `address` (HOST:PORT of this node's gRPC port) while it has free run slots.
    func join(_ member: any ClusterMember, address: String) async

    /// Leaves (a graceful shutdown, after the member's sessions have ended).
    func leave() async

    /// This node answers for `active` (waiting or running); its latest state goes to
    /// the other nodes' watchers and lists. A terminal progress withdraws the session.
    func publish(_ active: EngineRegistry.Active) async

    /// Who answers for a session that is not on this node.
    func owner(of sessionId: String) async -> ClusterOwner

    /// The latest state of a session another live node answers for.
    func remoteActive(_ sessionId: String) async -> EngineRegistry.Active?

    /// Every session the other live nodes answer for.
    func remoteActive() async -> [EngineRegistry.Active]

    /// Delivers the events of a session another node answers for, from now until
    /// `unfollow` (the terminal one included: from its node, from the node that found
    /// its node dead, or from the store once it has ended).
    /// Synchronous, so a caller's follow and unfollow reach the broker in its order.
    func follow(_ sessionId: String, _ deliver: @escaping @Sendable (RunProgress) -> Void)

    func unfollow(_ sessionId: String)

    /// This node's free run slots, as other nodes see them for placement (sent in the
    /// background: it must not hold up the registry).
    func noteFreeSlots(_ free: Int)

    /// Addresses of other live nodes with free run slots, most free first.
    func placementCandidates() async -> [String]

    /// Asks `node` to stop the session; UNAVAILABLE when the node does not listen.
    func requestStop(_ sessionId: String, on node: String, reason: String) async throws(ServiceError)

    // MARK: A waiting session handed over (section 15.4)

    /// Offers a waiting session of this node to the node it is about to be sent to: that
    /// node's admission claims the offer, once. False when the broker cannot be reached
    /// (the session stays here).
    func offerHandover(_ sessionId: String) async -> Bool

    /// Takes the offer back: true when no node claimed it (the session stays here),
    /// false when one did (it runs there, even if its answer was lost on the way).
    func withdrawHandover(_ sessionId: String) async -> Bool

    /// Claims the session `node` offers; true for one claimer only.
    func claimHandover(_ sessionId: String, from node: String) async -> Bool

    /// Gives a claimed offer back: this node could not admit the session after all.
    func returnHandover(_ sessionId: String, to node: String) async

    /// `publish`, for a session just taken over from `node`, which no longer answers
    /// for it.
    func publish(_ active: EngineRegistry.Active, takenFrom node: String) async

    /// This node no longer answers for a session it handed over (the taker says so too;
    /// this covers a taker that died before it could).
    func handedOver(_ sessionId: String) async
}

/// What the cluster asks of a node's registry.
public protocol ClusterMember: Sendable {
    /// Another node relays a StopBacktest for a session of this node.
    func stopRequested(_ sessionId: String, reason: String) async

    /// The sessions this node answers for now.
    func localActive() async -> [EngineRegistry.Active]

    /// Another node ended a session of this node, taking this node for lost: the
    /// session ends here as `record` says, and this node stores nothing else for it.
    func abandon(_ sessionId: String, endedAs record: SessionRecord) async

    /// The longest-waiting session goes to another node with a free run slot, if any
    /// (called on every heartbeat).
    func moveWaiting() async
}

/// Who answers for a session.
public enum ClusterOwner: Sendable, Equatable {
    /// A live node.
    case node(String)
    /// A node that has stopped answering: its sessions are about to be marked FAILED.
    case lost(String)
    /// No node: the session has ended, or it is not known to the broker yet.
    case none
}
