import BacktestCore
import Foundation

/// Sessions across nodes: this node's announced (owner key, node set, latest state,
/// events on their channel), other nodes' listed, followed, stopped and placed on.
extension RedisCluster {
    // MARK: Sessions of this node

    public func publish(_ active: EngineRegistry.Active) async {
        let (keys, me, id) = (self.keys, nodeId, active.record.id)
        let terminal = active.progress.kind == .terminal
        let arguments = [
            "EVAL", Self.publishScript, "3", keys.owner(id), keys.owned(me), keys.active(me), me, id,
            terminal ? "" : ClusterCoding.encode(active), keys.progress(id), ClusterCoding.encode(active.progress),
            terminal ? "1" : "0",
        ]
        do {
            _ = try await link.call { c throws(RedisError) in try c.command(arguments) }
        } catch {
            warn("cannot publish session \(id)", error)
        }
    }

    /// One step, in the broker: a node says what it runs only while no other node
    /// answers for the session. A word of this node's that comes after the session moved
    /// on (a re-announcement read before the move, sent after it) then changes nothing
    /// and reaches no watcher; it only clears this node's own stale entries.
    /// KEYS: owner, this node's set, this node's hash. ARGV: node, session, its state
    /// (JSON), channel, event, "1" for the terminal one.
    static let publishScript = """
        local owner = redis.call('GET', KEYS[1])
        local mine = (not owner) or owner == ARGV[1]
        if ARGV[6] == '1' or not mine then
          redis.call('HDEL', KEYS[3], ARGV[2])
          redis.call('SREM', KEYS[2], ARGV[2])
          if not mine then return 0 end
          redis.call('DEL', KEYS[1])
        else
          redis.call('SET', KEYS[1], ARGV[1])
          redis.call('SADD', KEYS[2], ARGV[2])
          redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
        end
        redis.call('PUBLISH', ARGV[4], ARGV[5])
        return 1
        """

    public func noteFreeSlots(_ free: Int) {
        let changed = state.withLock { s in
            guard s.freeSlots != free || !s.freeSlotsSent else { return false }
            s.freeSlots = free
            s.freeSlotsSent = false
            return true
        }
        if changed { Task { await sendFreeSlots() } }
    }

    func sendFreeSlots() async {
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

    func received(_ channel: String, _ payload: [UInt8]) {
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
                if let node = try c.command(["GET", keys.owner(sessionId)]).text, node != me {
                    return try c.command(["EXISTS", keys.node(node)]).integer == 1 ? .node(node) : .lost(node)
                }
                // No owner key, or a stale one naming this node (which does not have it: the
                // caller looked): the members' own sets say who answers for it, if anyone.
                let (alive, dead) = try Self.members(on: c, keys, excluding: me)
                let members = alive + dead
                guard !members.isEmpty else { return .none }
                let held = try c.pipeline(members.map { ["SISMEMBER", keys.owned($0), sessionId] })
                guard let node = zip(members, held).first(where: { $0.1.integer == 1 })?.0 else { return .none }
                return alive.contains(node) ? .node(node) : .lost(node)
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
    func deliver(_ id: String, _ event: RunProgress) {
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
    func check(_ id: String) async {
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

    func recheckFollows() {
        let ids = state.withLock { Array($0.follows.keys) }
        guard !ids.isEmpty else { return }
        Task { for id in ids { await check(id) } }
    }

    // MARK: A waiting session handed over

    /// How long an offer stands: far longer than a placement call (10 s) takes.
    static let handoverLifetime = "30000"

    public func offerHandover(_ sessionId: String) async -> Bool {
        let (key, me) = (keys.handover(sessionId), nodeId)
        do {
            _ = try await link.call { c throws(RedisError) in
                try c.command(["SET", key, me, "PX", Self.handoverLifetime])
            }
            return true
        } catch {
            warn("cannot offer session \(sessionId) to another node", error)
            return false
        }
    }

    public func withdrawHandover(_ sessionId: String) async -> Bool {
        let key = keys.handover(sessionId)
        do {
            return try await link.call { c throws(RedisError) in try c.command(["DEL", key]).integer == 1 }
        } catch {
            // Unknown: kept here. Were it claimed too, both nodes run the same request to
            // the same end (the engine is deterministic), which beats a session nobody runs.
            warn("cannot take back the offer of session \(sessionId)", error)
            return true
        }
    }

    public func claimHandover(_ sessionId: String, from node: String) async -> Bool {
        let key = keys.handover(sessionId)
        do {
            return try await link.call { c throws(RedisError) in try c.command(["GETDEL", key]).text == node }
        } catch {
            warn("cannot claim session \(sessionId) from node \(node)", error)
            return false
        }
    }

    public func returnHandover(_ sessionId: String, to node: String) async {
        let key = keys.handover(sessionId)
        do {
            _ = try await link.call { c throws(RedisError) in
                try c.command(["SET", key, node, "PX", Self.handoverLifetime])
            }
        } catch {
            warn("cannot give session \(sessionId) back to node \(node)", error)
        }
    }

    public func publish(_ active: EngineRegistry.Active, takenFrom node: String) async {
        let (keys, me, id) = (self.keys, nodeId, active.record.id)
        let commands = [
            ["SET", keys.owner(id), me], ["SADD", keys.owned(me), id],
            ["HSET", keys.active(me), id, ClusterCoding.encode(active)], ["SREM", keys.owned(node), id],
            ["HDEL", keys.active(node), id], ["PUBLISH", keys.progress(id), ClusterCoding.encode(active.progress)],
        ]
        do {
            _ = try await link.call { c throws(RedisError) in try c.pipeline(commands) }
        } catch {
            warn("cannot publish session \(id)", error)
        }
    }

    public func handedOver(_ sessionId: String) async {
        let (keys, me) = (self.keys, nodeId)
        let owner = RedisLease(key: keys.owner(sessionId), owner: me, ttl: .seconds(1))
        do {
            _ = try await link.call { c throws(RedisError) in
                _ = try c.pipeline([["SREM", keys.owned(me), sessionId], ["HDEL", keys.active(me), sessionId]])
                return try owner.release(on: c)  // unless the taker has it already
            }
        } catch {
            warn("cannot say that session \(sessionId) went to another node", error)
        }
    }
}
