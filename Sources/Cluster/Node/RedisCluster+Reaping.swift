import BacktestCore
import BacktestStore
import Foundation

/// A node lost (docs/DESIGN.md section 15.2): a live node that finds a member whose
/// lease lapsed marks its sessions FAILED in the shared store, tells their watchers,
/// adopts the sweeps it coordinated and removes it, one node at a time (a lock); a
/// node that finds it was taken for lost while alive keeps the end the others gave.
extension RedisCluster {
    /// After a lapse of this node's lease: its sessions another node has meanwhile
    /// failed as lost stop here (their runs keep that end, `BacktestRun.endedElsewhere`),
    /// rather than come back to life in every node's lists.
    func abandonSessionsEndedElsewhere() async {
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
    func reap(_ node: String) async {
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
    func fail(_ id: String, lostNode node: String, latest: EngineRegistry.Active?) async -> Bool {
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
}
