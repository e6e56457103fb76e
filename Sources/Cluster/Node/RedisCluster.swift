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
    private func register() async {
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

    private func beat() async {
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
    }

    // MARK: Failure

    /// After a lapse of this node's lease: its sessions another node has meanwhile
    /// failed as lost stop here (their runs keep that end, `BacktestRun.endedElsewhere`),
    /// rather than come back to life in every node's lists.
    private func abandonSessionsEndedElsewhere() async {
        guard let member = state.withLock({ $0.member }) else { return }
        let key = keys.reaped(nodeId)
        let pairs: [String: [UInt8]]
        do {
            pairs = try await link.call { c throws(RedisError) in
                let items = try c.command(["HGETALL", key]).array ?? []
                var out: [String: [UInt8]] = [:]
                for i in stride(from: 0, to: items.count - 1, by: 2) {
                    if let id = items[i].text, let value = items[i + 1].bytes { out[id] = value }
                }
                return out
            }
        } catch {
            warn("cannot read which sessions of this node were failed", error)
            return
        }
        guard !pairs.isEmpty else { return }
        let local = Set(await member.localActive().map(\.record.id))
        for (id, value) in pairs where local.contains(id) {
            guard let record = ClusterCoding.decode(SessionRecord.self, value) else { continue }
            await member.abandon(id, endedAs: record)
        }
        let ids = Array(pairs.keys)
        _ = try? await link.call { c throws(RedisError) in try c.command(["HDEL", key] + ids) }
    }

    func reapDead() async {
        let (keys, me) = (self.keys, nodeId)
        let dead: [String]
        do {
            dead = try await link.call { c throws(RedisError) in try Self.members(on: c, keys, excluding: me).dead }
        } catch {
            warn("cannot read the cluster's members", error)
            return
        }
        for node in dead { await reap(node) }
    }

    /// Marks the sessions of a dead node failed and removes it; one node does it.
    private func reap(_ node: String) async {
        let lock = RedisLease(key: keys.reaping(node), owner: incarnation, ttl: .seconds(30))
        let (keys, me) = (self.keys, nodeId)
        let held: (sessions: [String], latest: [[UInt8]])?
        do {
            held = try await link.call { c throws(RedisError) in
                guard try lock.acquire(on: c) else { return nil }
                let replies = try c.pipeline([["SMEMBERS", keys.owned(node)], ["HVALS", keys.active(node)]])
                return ((replies[0].array ?? []).compactMap(\.text), (replies[1].array ?? []).compactMap(\.bytes))
            }
        } catch {
            warn("cannot reap node \(node)", error)
            return
        }
        guard let held else { return }  // another node is at it
        var sessions = held.sessions
        if node == me, let member = state.withLock({ $0.member }) {
            // This node's previous process's sessions, not this one's: a session is a
            // local one before it is announced, so one read above and running here is
            // in this list.
            let local = Set(await member.localActive().map(\.record.id))
            sessions.removeAll { local.contains($0) }
        }
        // The node's last word on each session: newer than what its runs last stored.
        var latest: [String: EngineRegistry.Active] = [:]
        for bytes in held.latest {
            if let a = ClusterCoding.decode(EngineRegistry.Active.self, bytes) { latest[a.record.id] = a }
        }
        var failedAll = true
        for id in sessions where !(await fail(id, lostNode: node, latest: latest[id])) { failedAll = false }
        let complete = failedAll
        await adoptSweeps(of: node)
        do {
            _ = try await link.call { [sessions] c throws(RedisError) in
                if complete {
                    var commands = sessions.flatMap {
                        [["SREM", keys.owned(node), $0], ["HDEL", keys.active(node), $0]]
                    }
                    if node != me {
                        commands += [
                            ["DEL", keys.owned(node), keys.active(node)], ["HDEL", keys.addresses, node],
                            ["HDEL", keys.freeSlots, node],
                        ]
                        // A sweep no node could take over yet (handed back) keeps it a
                        // member, to be reaped, and that sweep adopted, again.
                        if try c.command(["SCARD", keys.coordinating(node)]).integer ?? 0 == 0 {
                            commands.append(["SREM", keys.nodes, node])
                        }
                    }
                    if !commands.isEmpty { _ = try c.pipeline(commands) }
                }
                return try lock.release(on: c)
            }
        } catch {
            warn("cannot finish reaping node \(node)", error)
        }
        if node != me {
            logger.warning(
                "node lost: its sessions are marked failed",
                metadata: ["node": "\(node)", "sessions": "\(sessions.count)", "complete": "\(complete)"])
        }
    }

    /// One session of a dead node: FAILED in the store unless it ended, then its
    /// terminal event to its watchers. False when the store could not be written.
    private func fail(_ id: String, lostNode node: String, latest: EngineRegistry.Active?) async -> Bool {
        var record: SessionRecord
        do {
            guard let r = try await store.session(id: id) else { return true }
            record = r
            if !record.state.isTerminal {
                if let live = latest?.record, live.eventsProcessed >= record.eventsProcessed {
                    (record.progressPct, record.simTime, record.eventsProcessed) =
                        (live.progressPct, live.simTime, live.eventsProcessed)
                    (record.totalTrades, record.finalPnl) = (live.totalTrades, live.finalPnl)
                    record.startedAt = record.startedAt ?? live.startedAt
                }
                record.state = .failed
                record.errorMessage = "node \(node) lost"
                record.completedAt = SystemClock().wallMicros
                try await store.saveSession(record)
                try await store.sync()
            }
        } catch {
            warn("cannot mark session \(id) of lost node \(node) failed", error)
            return false
        }
        var terminal = RunProgress(ended: record, kind: .terminal, sequence: 0)
        if let last = latest?.progress, record.statistics == nil {
            // The account as the node last reported it.
            (terminal.equity, terminal.cash, terminal.realizedPnl) = (last.equity, last.cash, last.realizedPnl)
            (terminal.drawdownPct, terminal.maxDrawdownPct) = (last.drawdownPct, last.maxDrawdownPct)
            (terminal.unrealizedPnl, terminal.openPositions, terminal.positionSize) =
                (last.unrealizedPnl, last.openPositions, last.positionSize)
        }
        let event = ClusterCoding.encode(terminal)
        let (keys, owner) = (self.keys, RedisLease(key: keys.owner(id), owner: node, ttl: .seconds(1)))
        // A node taken for lost may yet be alive (frozen, cut off): this tells it the end.
        let tombstone =
            node == nodeId
            ? []
            : [["HSET", keys.reaped(node), id, ClusterCoding.encode(record)], ["EXPIRE", keys.reaped(node), "86400"]]
        do {
            _ = try await link.call { c throws(RedisError) in
                _ = try c.pipeline([["PUBLISH", keys.progress(id), event]] + tombstone)
                return try owner.release(on: c)
            }
        } catch {
            // Watchers also find the stored end by themselves (`check`).
            warn("cannot publish the end of session \(id)", error)
        }
        return true
    }

    // MARK: Sessions of this node

    public func publish(_ active: EngineRegistry.Active) async {
        let id = active.record.id
        let event = ClusterCoding.encode(active.progress)
        let commands: [[String]]
        if active.progress.kind == .terminal {
            commands = [
                ["PUBLISH", keys.progress(id), event], ["HDEL", keys.active(nodeId), id],
                ["SREM", keys.owned(nodeId), id], ["DEL", keys.owner(id)],
            ]
        } else {
            commands = [
                ["SET", keys.owner(id), nodeId], ["SADD", keys.owned(nodeId), id],
                ["HSET", keys.active(nodeId), id, ClusterCoding.encode(active)],
                ["PUBLISH", keys.progress(id), event],
            ]
        }
        do {
            _ = try await link.call { c throws(RedisError) in try c.pipeline(commands) }
        } catch {
            warn("cannot publish session \(id)", error)
        }
    }

    public func noteFreeSlots(_ free: Int) {
        let changed = state.withLock { s in
            guard s.freeSlots != free || !s.freeSlotsSent else { return false }
            s.freeSlots = free
            s.freeSlotsSent = false
            return true
        }
        if changed { Task { await sendFreeSlots() } }
    }

    private func sendFreeSlots() async {
        let (free, registered) = state.withLock { s in
            s.freeSlotsSent = true
            return (s.freeSlots, s.joinedAt != nil)
        }
        guard registered else { return }  // `register` sends it
        let (key, me) = (keys.freeSlots, nodeId)
        do {
            _ = try await link.call { c throws(RedisError) in try c.command(["HSET", key, me, String(free)]) }
        } catch {
            state.withLock { $0.freeSlotsSent = false }  // the heartbeat tries again
            warn("cannot tell the broker this node's free slots", error)
        }
    }

    public func placementCandidates() async -> [String] {
        let (keys, me) = (self.keys, nodeId)
        do {
            return try await link.call { c throws(RedisError) -> [String] in
                let replies = try c.pipeline([["HGETALL", keys.freeSlots], ["HGETALL", keys.addresses]])
                func pairs(_ r: RedisReply) -> [String: String] {
                    let items = (r.array ?? []).compactMap(\.text)
                    return Dictionary(
                        stride(from: 0, to: items.count - 1, by: 2).map { (items[$0], items[$0 + 1]) },
                        uniquingKeysWith: { a, _ in a })
                }
                let free = pairs(replies[0]).compactMapValues { Int($0) }.filter { $0.key != me && $0.value > 0 }
                let addresses = pairs(replies[1])
                let alive = try Self.holdingLeases(Array(free.keys), on: c, keys)
                return free.keys.filter(alive.contains).sorted { (free[$0]!, $1) > (free[$1]!, $0) }
                    .compactMap { addresses[$0] }.filter { !$0.isEmpty }
            }
        } catch {
            warn("cannot read other nodes' free slots", error)
            return []
        }
    }

    private func received(_ channel: String, _ payload: [UInt8]) {
        if channel == keys.stops(nodeId) {
            guard let request = ClusterCoding.decode(ClusterCoding.StopRequest.self, payload) else { return }
            if let sweep = request.sweep {
                guard let member = state.withLock({ $0.sweepMember }) else { return }
                Task { await member.stopRequested(sweep, reason: request.reason) }
                return
            }
            guard let member = state.withLock({ $0.member }) else { return }
            Task { await member.stopRequested(request.session, reason: request.reason) }
        } else if let id = keys.session(ofProgress: channel),
            let event = ClusterCoding.decode(RunProgress.self, payload)
        {
            deliver(id, event)
        }
    }

    // MARK: Other nodes' sessions

    public func owner(of sessionId: String) async -> ClusterOwner {
        let (keys, me) = (self.keys, nodeId)
        do {
            return try await link.call { c throws(RedisError) in
                guard let node = try c.command(["GET", keys.owner(sessionId)]).text, node != me else { return .none }
                return try c.command(["EXISTS", keys.node(node)]).integer == 1 ? .node(node) : .lost(node)
            }
        } catch {
            warn("cannot ask the broker who runs session \(sessionId)", error)
            return .none
        }
    }

    public func remoteActive(_ sessionId: String) async -> EngineRegistry.Active? {
        guard case .node(let node) = await owner(of: sessionId) else { return nil }
        let key = keys.active(node)
        do {
            let reply = try await link.call { c throws(RedisError) in try c.command(["HGET", key, sessionId]) }
            return reply.bytes.flatMap { ClusterCoding.decode(EngineRegistry.Active.self, $0) }
        } catch {
            warn("cannot read session \(sessionId) from the broker", error)
            return nil
        }
    }

    public func remoteActive() async -> [EngineRegistry.Active] {
        let (keys, me) = (self.keys, nodeId)
        do {
            let values = try await link.call { c throws(RedisError) -> [[UInt8]] in
                let live = try Self.members(on: c, keys, excluding: me).alive
                guard !live.isEmpty else { return [] }
                return try c.pipeline(live.map { ["HVALS", keys.active($0)] }).flatMap {
                    ($0.array ?? []).compactMap(\.bytes)
                }
            }
            return values.compactMap { ClusterCoding.decode(EngineRegistry.Active.self, $0) }
        } catch {
            warn("cannot list other nodes' sessions", error)
            return []
        }
    }

    public func follow(_ sessionId: String, _ deliver: @escaping @Sendable (RunProgress) -> Void) {
        let subscriber = state.withLock { s in
            s.follows[sessionId] = Follow(deliver: deliver)
            return s.subscriber
        }
        subscriber?.subscribe(keys.progress(sessionId))
        // What happened before the subscription took effect.
        Task { await check(sessionId) }
    }

    public func unfollow(_ sessionId: String) {
        let subscriber = state.withLock { s in
            s.follows[sessionId] = nil
            return s.subscriber
        }
        subscriber?.unsubscribe(keys.progress(sessionId))
    }

    public func requestStop(_ sessionId: String, on node: String, reason: String) async throws(ServiceError) {
        let (channel, message) = (
            keys.stops(node), ClusterCoding.encode(ClusterCoding.StopRequest(session: sessionId, reason: reason))
        )
        let receivers: Int64?
        do {
            receivers = try await link.call { c throws(RedisError) in
                try c.command(["PUBLISH", channel, message]).integer
            }
        } catch {
            throw ServiceError(.unavailable, "the broker cannot be reached to stop session \"\(sessionId)\": \(error)")
        }
        guard (receivers ?? 0) > 0 else {
            throw ServiceError(
                .unavailable, "node \(node), which runs session \"\(sessionId)\", does not answer; retry later")
        }
    }

    /// Hands an event of a followed session to its follower: newer than the last
    /// (events from the broker and from `check` may cross), or the terminal one.
    private func deliver(_ id: String, _ event: RunProgress) {
        let target = state.withLock { s -> (@Sendable (RunProgress) -> Void)? in
            guard var f = s.follows[id], !f.ended else { return nil }
            if event.kind == .terminal {
                f.ended = true
            } else {
                guard event.sequence > f.lastSequence else { return nil }
                f.lastSequence = event.sequence
            }
            f.lastHeard = .now
            s.follows[id] = f
            return f.deliver
        }
        target?(event)
    }

    /// The latest state of a followed session, from its node, or its end from the store.
    private func check(_ id: String) async {
        state.withLock { s in s.follows[id]?.lastHeard = .now }
        switch await owner(of: id) {
        case .node:
            if let active = await remoteActive(id) {
                deliver(id, active.progress)
                return
            }
        case .lost, .none:
            // Ended and stored (a node that left drained it), or soon failed by the node
            // that reaps its owner.
            break
        }
        if let r = try? await store.session(id: id), r.state.isTerminal {
            deliver(id, RunProgress(ended: r, kind: .terminal, sequence: 0))
        }
    }

    private func recheckFollows() {
        let ids = state.withLock { Array($0.follows.keys) }
        guard !ids.isEmpty else { return }
        Task { for id in ids { await check(id) } }
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
