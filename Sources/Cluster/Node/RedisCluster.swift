import BacktestCore
import BacktestStore
import Foundation
import Logging
import Synchronization

/// The cluster on a Redis broker (docs/ARCHITECTURE.md "Several nodes"):
/// - liveness: each node holds a lease (`SET NX PX`) renewed by its `LeaseKeeper`, and is a
///   member of the node set; a member whose lease has lapsed is dead;
/// - ownership: a session's owner key names its node, and the node's set lists it;
/// - progress: the owner publishes each session's events (at most ten a second) on
///   the session's channel and keeps its latest state in the node's hash, which
///   ListActive and new watchers read;
/// - stops: a StopBacktest for another node's session goes on that node's channel;
/// - failure: a live node that finds a dead member marks its sessions FAILED in the
///   shared store ("node X lost"), publishes their terminal events and removes the
///   member, one node at a time (a lock).
public final class RedisCluster: SessionCluster, @unchecked Sendable {
    public struct Options: Sendable {
        /// Prefix of every key and channel.
        public var prefix = "bt:"
        /// A node not heard from for this long is dead.
        public var lease: Duration = .seconds(3)
        /// How often a node renews its lease and looks for dead ones.
        public var heartbeat: Duration = .seconds(1)

        public init() {}
    }

    struct Follow {
        let deliver: @Sendable (RunProgress) -> Void
        /// The owner's sequence of the last event delivered: older ones are dropped.
        var lastSequence: UInt64 = 0
        var lastHeard = ContinuousClock.now
        var ended = false
    }

    struct State {
        var member: (any ClusterMember)?
        /// This node's sweeps: their stop requests, and the sweeps of dead coordinators.
        var sweepMember: (any SweepMember)?
        /// The sweep this node last took a shard of (its data is at hand).
        var lastSweep: String?
        /// Ended sweeps whose close did not reach the broker, by id.
        var unclosed: [String: SweepProgress] = [:]
        var subscriber: BrokerSubscriber?
        var heartbeat: Task<Void, Never>?
        var keeper: LeaseKeeper?
        var follows: [String: Follow] = [:]
        /// Since when this node is a registered member (reaping waits a lease after it:
        /// after a broker restart every node gets the time to say it lives).
        var joinedAt: ContinuousClock.Instant?
        var warnedAt: ContinuousClock.Instant?
        var address = ""
        /// The last free slot count noted, and whether the broker has it.
        var freeSlots = 0
        var freeSlotsSent = true
    }

    public let nodeId: String
    /// This process: a restarted node with the same name holds a lease of its own.
    let incarnation = UUID().uuidString.lowercased()
    let keys: BrokerKeys
    let options: Options
    let link: BrokerLink
    let store: any BacktestStore
    let logger: Logger
    let state = Mutex(State())

    public init(
        nodeId: String, host: String, port: Int, store: any BacktestStore, options: Options = Options(),
        logger: Logger = Logger(label: "backtest.cluster")
    ) {
        self.nodeId = nodeId
        self.options = options
        self.store = store
        self.logger = logger
        keys = BrokerKeys(prefix: options.prefix)
        link = BrokerLink(host: host, port: port)
    }

    public var brokerAddress: String { link.address }

    private var lease: RedisLease { RedisLease(key: keys.node(nodeId), owner: incarnation, ttl: options.lease) }

    // MARK: Membership

    public func join(_ member: any ClusterMember, address: String) async {
        let subscriber = BrokerSubscriber(
            host: link.host, port: link.port, fixed: [keys.stops(nodeId)],
            message: { [weak self] channel, payload in self?.received(channel, payload) },
            resubscribed: { [weak self] in self?.recheckFollows() })
        state.withLock {
            $0.member = member
            $0.subscriber = subscriber
            $0.address = address
        }
        subscriber.start()
        // Sessions a previous process of this node left: its start-up recovery has
        // marked them failed in the store; their watchers elsewhere learn it now.
        await reap(nodeId)
        await register()
        let keeper = LeaseKeeper(host: link.host, port: link.port, lease: lease, every: options.heartbeat)
        state.withLock { $0.keeper = keeper }
        keeper.start()
        let task = Task.detached { [weak self, options] in
            while (try? await Task.sleep(for: options.heartbeat)) != nil {
                await self?.beat()
            }
        }
        state.withLock { $0.heartbeat = task }
        logger.info(
            "joined the cluster", metadata: ["node": "\(nodeId)", "address": "\(address)", "broker": "\(link.address)"])
    }

    public func leave() async {
        let (heartbeat, subscriber, keeper) = state.withLock { s in
            defer {
                s.heartbeat = nil
                s.subscriber = nil
                s.member = nil
                s.keeper = nil
            }
            return (s.heartbeat, s.subscriber, s.keeper)
        }
        heartbeat?.cancel()
        await heartbeat?.value  // a beat in flight must not register again after this
        keeper?.stop()
        let lease = self.lease
        let (nodes, owned, active, me, keys) = (keys.nodes, keys.owned(nodeId), keys.active(nodeId), nodeId, keys)
        do {
            _ = try await link.call { c throws(RedisError) in
                var commands = [["DEL", owned, active], ["HDEL", keys.addresses, me], ["HDEL", keys.freeSlots, me]]
                // Sweeps still listed as this node's (one it could not take over, one
                // whose close did not reach the broker): it stays a member without a
                // lease, so that another node reaps it and takes them over.
                if try c.command(["SCARD", keys.coordinating(me)]).integer ?? 0 == 0 {
                    commands.append(["SREM", nodes, me])
                }
                _ = try c.pipeline(commands)
                return try lease.release(on: c)
            }
        } catch {
            logger.warning("leaving the cluster: \(error)")
        }
        subscriber?.stop()
        await link.close()
    }

    /// Takes the lease and the membership, then says again what this node answers for.
    func register() async {
        let (lease, keys, me) = (self.lease, keys, nodeId)
        let (address, free) = state.withLock { s in
            s.freeSlotsSent = true
            return (s.address, s.freeSlots)
        }
        do {
            _ = try await link.call { c throws(RedisError) in
                try c.pipeline([
                    ["SET", lease.key, lease.owner, "PX", lease.milliseconds], ["SADD", keys.nodes, me],
                    ["HSET", keys.addresses, me, address], ["HSET", keys.freeSlots, me, String(free)],
                ])
            }
        } catch {
            warn("cannot register with the broker", error)
            return
        }
        let keeper = state.withLock { s in
            s.joinedAt = .now
            return s.keeper
        }
        keeper?.registered()
        guard let member = state.withLock({ $0.member }) else { return }
        for active in await member.localActive() { await publish(active) }
    }

    func beat() async {
        // The lease itself is renewed by the keeper's thread; this acts on what it found.
        guard let (finding, confirmedAt) = state.withLock({ $0.keeper?.finding }) else { return }
        let registered = state.withLock { $0.joinedAt != nil }
        switch finding {
        case .unreachable(let error):
            state.withLock { $0.joinedAt = nil }
            warn("cannot renew the node's lease", error)
            return
        case .lapsed:
            // Lapsed (the broker restarted, or this node was silent too long).
            logger.warning("the node's lease had lapsed: registering again", metadata: ["node": "\(nodeId)"])
            await abandonSessionsEndedElsewhere()
            await register()
        case .held:
            // The broker back after a blip the lease outlived: registered again (which
            // also says again what this node answers for).
            if !registered {
                await register()
            } else if ContinuousClock.now - confirmedAt >= options.lease {
                // Not known held for a lease (this node was frozen, and the keeper has
                // not looked since): nothing is done as a live member until it has.
                return
            }
        }
        if state.withLock({ !$0.freeSlotsSent }) { await sendFreeSlots() }
        if state.withLock({ !$0.unclosed.isEmpty }) { await closeUnclosed() }
        if let joined = state.withLock({ $0.joinedAt }), ContinuousClock.now - joined >= options.lease {
            await reapDead()
        }
        let quiet = state.withLock { s in
            s.follows.filter { !$0.value.ended && ContinuousClock.now - $0.value.lastHeard >= options.heartbeat * 2 }
                .map(\.key)
        }
        for id in quiet { await check(id) }
        // A waiting session goes where a slot is free (in the background: it calls
        // another node; one move at a time, the registry sees to that).
        if let member = state.withLock({ $0.member }) { Task { await member.moveWaiting() } }
    }

    /// Broker trouble, logged at most every ten seconds.
    func warn(_ what: String, _ error: any Error) {
        let now = ContinuousClock.now
        let due = state.withLock { s in
            guard s.warnedAt.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
            s.warnedAt = now
            return true
        }
        if due { logger.warning("\(what): \(error)") }
    }

    /// The cluster's members other than `me`, by whether they hold their lease.
    static func members(on c: RedisConnection, _ keys: BrokerKeys, excluding me: String) throws(RedisError)
        -> (alive: [String], dead: [String])
    {
        let members = (try c.command(["SMEMBERS", keys.nodes]).array ?? []).compactMap(\.text).filter { $0 != me }
        let alive = try holdingLeases(members, on: c, keys)
        return (members.filter(alive.contains), members.filter { !alive.contains($0) })
    }

    /// Those of `nodes` whose lease is held now (one round trip).
    static func holdingLeases(_ nodes: [String], on c: RedisConnection, _ keys: BrokerKeys) throws(RedisError)
        -> Set<String>
    {
        guard !nodes.isEmpty else { return [] }
        let replies = try c.pipeline(nodes.map { ["EXISTS", keys.node($0)] })
        return Set(zip(nodes, replies).filter { $0.1.integer == 1 }.map(\.0))
    }
}
