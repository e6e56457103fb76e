import BacktestCore
import Foundation

/// Sweeps spread over the nodes (docs/ARCHITECTURE.md "Several nodes"):
/// - a sweep's hash holds its request (base64), its coordinator and its latest progress;
/// - its shards are a stream read by one consumer group, each node a consumer: a shard
///   taken stays pending under the node until it is acknowledged, so the shards of a
///   node whose lease lapsed are found (`XPENDING`) and offered again;
/// - reports go on a second stream the coordinator reads from any point (an adopting
///   node reads it from the start);
/// - the set of offered sweeps is what workers look at; a sweep leaves it when it stops.
extension RedisCluster: SweepCluster {
    /// Keys of a sweep live at most this long after the coordinator last tended them
    /// (a coordinator that vanished with no node to adopt its sweep leaves nothing).
    static let sweepKeyLifetime = "86400"

    public func joinSweeps(_ member: any SweepMember) async {
        state.withLock { $0.sweepMember = member }
        // Before this process takes any shard: those pending under this node's name now
        // are a previous process's.
        do {
            let (keys, me) = (self.keys, nodeId)
            _ = try await link.call { c throws(RedisError) in
                for id in (try c.command(["SMEMBERS", keys.sweeps]).array ?? []).compactMap(\.text) {
                    _ = try Self.reoffer(id, on: c, keys) { $0 == me }
                }
            }
        } catch {
            warn("cannot hand back the shards of this node's previous process", error)
        }
    }

    // MARK: A coordinator

    public func offer(_ sweepId: String, request: [UInt8], shards: [SweepShard]) async throws(ServiceError) {
        let (keys, me) = (self.keys, nodeId)
        let encoded = Data(request).base64EncodedString()
        let entries = shards.map { ["XADD", keys.shards(sweepId), "*", "shard", ClusterCoding.encode($0)] }
        try await brokerCall("offer the shards of sweep \"\(sweepId)\"") { c throws(RedisError) in
            _ = try c.pipeline([
                ["HSET", keys.sweep(sweepId), "request", encoded, "coordinator", me],
                ["SADD", keys.coordinating(me), sweepId],
                // From the stream's start: shards offered before the group are delivered.
                ["XGROUP", "CREATE", keys.shards(sweepId), keys.shardGroup, "0", "MKSTREAM"],
            ])
            for batch in stride(from: 0, to: entries.count, by: 1000) {
                let replies = try c.pipeline(Array(entries[batch..<min(batch + 1000, entries.count)]))
                if case .error(let message) = replies.first(where: { if case .error = $0 { true } else { false } }) {
                    throw RedisError.reply(message)
                }
            }
            // Offered in full: workers take its shards from now on, and an adopter need
            // not offer them again.
            _ = try c.pipeline([
                ["HSET", keys.sweep(sweepId), "offered", String(shards.count)], ["SADD", keys.sweeps, sweepId],
                ["EXPIRE", keys.sweep(sweepId), Self.sweepKeyLifetime],
                ["EXPIRE", keys.shards(sweepId), Self.sweepKeyLifetime],
            ])
        }
    }

    public func reports(_ sweepId: String, after cursor: String) async throws(ServiceError)
        -> (reports: [ShardReport], cursor: String)
    {
        let key = keys.reports(sweepId)
        let reply = try await brokerCall("read the reports of sweep \"\(sweepId)\"") { c throws(RedisError) in
            try c.command(["XREAD", "COUNT", "1000", "STREAMS", key, cursor])
        }
        // [[key, [[id, [field, value, ...]], ...]]]
        guard let entries = reply.array?.first?.array?.dropFirst().first?.array else { return ([], cursor) }
        var reports: [ShardReport] = []
        var last = cursor
        for entry in entries {
            guard let items = entry.array, let id = items.first?.text else { continue }
            last = id
            if let value = Self.field("report", of: items), let report = ClusterCoding.decode(ShardReport.self, value) {
                reports.append(report)
            }
        }
        return (reports, last)
    }

    public func tend(_ sweepId: String) async throws(ServiceError) -> SweepTending {
        let keys = self.keys
        return try await brokerCall("tend sweep \"\(sweepId)\"") { c throws(RedisError) in
            let replies = try c.pipeline([
                ["HEXISTS", keys.sweep(sweepId), "offered"],
                ["EXPIRE", keys.sweep(sweepId), Self.sweepKeyLifetime],
                ["EXPIRE", keys.shards(sweepId), Self.sweepKeyLifetime],
                ["EXPIRE", keys.reports(sweepId), Self.sweepKeyLifetime],
            ])
            guard replies[0].integer == 1 else { return SweepTending(offered: false, inFlight: 0, reclaimed: 0) }
            var holders: [String: Bool] = [:]
            let (reclaimed, left) = try Self.reoffer(sweepId, on: c, keys) { node throws(RedisError) in
                if let alive = holders[node] { return !alive }
                let alive = try c.command(["EXISTS", keys.node(node)]).integer == 1
                holders[node] = alive
                return !alive
            }
            return SweepTending(offered: true, inFlight: left, reclaimed: reclaimed)
        }
    }

    public func announce(_ progress: SweepProgress) async {
        let (key, me, latest) = (keys.sweep(progress.sweepId), nodeId, ClusterCoding.encode(progress))
        // Listed as this node's from its first word: a sweep of a node that dies is
        // adopted (or, if it cannot be, failed) by another.
        let coordinating = keys.coordinating(nodeId)
        do {
            _ = try await link.call { c throws(RedisError) in
                try c.pipeline([
                    ["HSET", key, "latest", latest, "coordinator", me], ["SADD", coordinating, progress.sweepId],
                ])
            }
        } catch {
            warn("cannot announce sweep \(progress.sweepId)", error)
        }
    }

    public func withdraw(_ sweepId: String, reason: String) async {
        let keys = self.keys
        do {
            _ = try await link.call { c throws(RedisError) in try c.command(["SREM", keys.sweeps, sweepId]) }
        } catch {
            // Workers also stop once the sweep is closed.
            warn("cannot withdraw the shards of sweep \(sweepId)", error)
        }
    }

    public func close(_ terminal: SweepProgress) async {
        let (keys, me, id, latest) = (self.keys, nodeId, terminal.sweepId, ClusterCoding.encode(terminal))
        let close = { @Sendable () async throws(RedisError) in
            _ = try await self.link.call { c throws(RedisError) in
                try c.pipeline([
                    ["SREM", keys.sweeps, id], ["HSET", keys.sweep(id), "latest", latest, "coordinator", me],
                    ["HDEL", keys.sweep(id), "request", "offered"], ["EXPIRE", keys.sweep(id), "600"],
                    ["SREM", keys.coordinating(me), id], ["DEL", keys.shards(id), keys.reports(id)],
                ])
            }
        }
        do {
            try await close()
            state.withLock { _ = $0.unclosed.removeValue(forKey: id) }
        } catch {
            // Until it is closed, other nodes take its shards: the heartbeat tries again.
            state.withLock { $0.unclosed[id] = terminal }
            warn("cannot close sweep \(id)", error)
        }
    }

    /// Closes the sweeps whose close could not reach the broker (from the heartbeat).
    func closeUnclosed() async {
        for terminal in state.withLock({ Array($0.unclosed.values) }) { await close(terminal) }
    }

    /// Runs `body` until it succeeds, for about a minute at most, backing off.
    func retrying(_ what: String, _ body: @Sendable () async throws(RedisError) -> Void) async {
        var pause = Duration.milliseconds(100)
        for attempt in 0..<40 {
            do {
                try await body()
                return
            } catch {
                // A node leaving gives up at once: what it held is offered again once its
                // lease is gone.
                if attempt == 39 || Task.isCancelled {
                    warn("cannot \(what)", error)
                    return
                }
            }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(2))
        }
    }

    // MARK: Any node

    public func latest(_ sweepId: String) async -> SweepProgress? {
        let key = keys.sweep(sweepId)
        do {
            let reply = try await link.call { c throws(RedisError) in try c.command(["HGET", key, "latest"]) }
            return reply.bytes.flatMap { ClusterCoding.decode(SweepProgress.self, $0) }
        } catch {
            warn("cannot read sweep \(sweepId) from the broker", error)
            return nil
        }
    }

    public func isOpen(_ sweepId: String) async -> Bool {
        let key = keys.sweep(sweepId)
        do {
            return try await link.call { c throws(RedisError) in
                try c.command(["HEXISTS", key, "request"]).integer == 1
            }
        } catch {
            warn("cannot ask the broker about sweep \(sweepId)", error)
            return false
        }
    }

    public func requestStop(_ sweepId: String, reason: String) async throws(ServiceError) {
        let keys = self.keys
        let message = ClusterCoding.encode(ClusterCoding.StopRequest(session: "", reason: reason, sweep: sweepId))
        let (node, receivers) = try await brokerCall("stop sweep \"\(sweepId)\"") {
            c throws(RedisError) -> (String?, Int64) in
            guard let node = try c.command(["HGET", keys.sweep(sweepId), "coordinator"]).text else { return (nil, 0) }
            return (node, try c.command(["PUBLISH", keys.stops(node), message]).integer ?? 0)
        }
        guard receivers > 0 else {
            throw ServiceError(
                .unavailable,
                "node \(node ?? "?"), which coordinates sweep \"\(sweepId)\", does not answer; retry later")
        }
    }

    // MARK: A worker

    public func takeShard() async -> SweepShard.Taken? {
        let (keys, me) = (self.keys, nodeId)
        let preferred = state.withLock { $0.lastSweep }
        do {
            let taken = try await link.call { c throws(RedisError) -> SweepShard.Taken? in
                var open = (try c.command(["SMEMBERS", keys.sweeps]).array ?? []).compactMap(\.text).shuffled()
                // The sweep whose data this node holds first.
                if let preferred, let i = open.firstIndex(of: preferred) { open.swapAt(0, i) }
                for id in open {
                    let reply = try c.pipeline([
                        ["HGET", keys.sweep(id), "request"],
                        ["XREADGROUP", "GROUP", keys.shardGroup, me, "COUNT", "1", "STREAMS", keys.shards(id), ">"],
                    ])
                    let entry = reply[1].array?.first?.array?.dropFirst().first?.array?.first?.array
                    let ticket = entry?.first?.text
                    // Closed, or expired, without leaving the set (its coordinator could not
                    // reach the broker then): no more shards of it are taken.
                    guard let text = reply[0].text, let request = Data(base64Encoded: text) else {
                        if let ticket { _ = try c.command(["XACK", keys.shards(id), keys.shardGroup, ticket]) }
                        _ = try c.command(["SREM", keys.sweeps, id])
                        continue
                    }
                    guard let entry, let ticket else { continue }
                    guard let shardText = Self.field("shard", of: entry),
                        let shard = ClusterCoding.decode(SweepShard.self, shardText)
                    else {
                        _ = try c.command(["XACK", keys.shards(id), keys.shardGroup, ticket])
                        continue
                    }
                    return SweepShard.Taken(sweepId: id, request: Array(request), shard: shard, ticket: ticket)
                }
                return nil
            }
            if let taken { state.withLock { $0.lastSweep = taken.sweepId } }
            return taken
        } catch {
            warn("cannot take a sweep shard", error)
            return nil
        }
    }

    public func wants(_ sweepId: String) async -> Bool {
        let keys = self.keys
        do {
            return try await link.call { c throws(RedisError) in
                let replies = try c.pipeline([["EXISTS", keys.sweep(sweepId)], ["SISMEMBER", keys.sweeps, sweepId]])
                // A broker that restarted empty knows nothing of it: its coordinator
                // offers it again and counts this shard's report.
                return replies[0].integer == 0 || replies[1].integer == 1
            }
        } catch {
            return true  // the broker is away: go on computing
        }
    }

    public func finish(_ taken: SweepShard.Taken, report: ShardReport?) async {
        let keys = self.keys
        let (id, ticket) = (taken.sweepId, taken.ticket)
        let commands: [[String]]
        if let report {
            commands = [
                ["XADD", keys.reports(id), "*", "report", ClusterCoding.encode(report)],
                ["EXPIRE", keys.reports(id), Self.sweepKeyLifetime],
                ["XACK", keys.shards(id), keys.shardGroup, ticket],
            ]
        } else {
            // Offered again for another node; the rows stored so far are stored again by
            // it, over themselves.
            commands = [
                ["XADD", keys.shards(id), "*", "shard", ClusterCoding.encode(taken.shard)],
                ["XACK", keys.shards(id), keys.shardGroup, ticket],
            ]
        }
        // The coordinator waits for this: retried while the broker is away (a broker
        // that restarted empty lost the shard anyway; its coordinator offers it again).
        await retrying("report shard \(taken.shard.index) of sweep \(id)") { () throws(RedisError) in
            _ = try await self.link.call { c throws(RedisError) in try c.pipeline(commands) }
        }
    }

    // MARK: Adoption

    /// The sweeps `node` coordinated, each taken over by this node (one node wins each).
    func adoptSweeps(of node: String) async {
        guard let member = state.withLock({ $0.sweepMember }) else { return }
        let (keys, me) = (self.keys, nodeId)
        let adopted: [(String, [UInt8])]
        do {
            adopted = try await link.call { c throws(RedisError) in
                var out: [(String, [UInt8])] = []
                for id in (try c.command(["SMEMBERS", keys.coordinating(node)]).array ?? []).compactMap(\.text) {
                    guard try c.command(["SMOVE", keys.coordinating(node), keys.coordinating(me), id]).integer == 1
                    else { continue }
                    _ = try c.command(["HSET", keys.sweep(id), "coordinator", me])
                    let text = try c.command(["HGET", keys.sweep(id), "request"]).text
                    out.append((id, text.flatMap { Data(base64Encoded: $0) }.map(Array.init) ?? []))
                }
                return out
            }
        } catch {
            warn("cannot adopt the sweeps of node \(node)", error)
            return
        }
        for (id, request) in adopted {
            logger.warning("adopting a sweep of a lost node", metadata: ["sweep": "\(id)", "node": "\(node)"])
            await member.adopt(id, request: request, from: node)
        }
    }

    public func handBack(_ sweepId: String, to node: String) async {
        let (keys, me) = (self.keys, nodeId)
        guard node != me else { return }  // this node's previous process: it stays here
        // The lost node is a member again, without a lease: the next heartbeat of any
        // node reaps it and adopts what it coordinates.
        await retrying("hand sweep \(sweepId) back to node \(node)") { () throws(RedisError) in
            _ = try await self.link.call { c throws(RedisError) in
                try c.pipeline([
                    ["SMOVE", keys.coordinating(me), keys.coordinating(node), sweepId],
                    ["HSET", keys.sweep(sweepId), "coordinator", node], ["SADD", keys.nodes, node],
                ])
            }
        }
        logger.warning(
            "a sweep of a lost node is handed back for another node to adopt",
            metadata: ["sweep": "\(sweepId)", "node": "\(node)"])
    }

    // MARK: Helpers

    /// Offers again the shards of `sweepId` pending under the nodes `gone` names;
    /// returns how many, and how many stay pending.
    static func reoffer(
        _ sweepId: String, on c: RedisConnection, _ keys: BrokerKeys,
        gone: (String) throws(RedisError) -> Bool
    ) throws(RedisError) -> (reoffered: Int, pending: Int) {
        let stream = keys.shards(sweepId)
        let reply = try c.command(["XPENDING", stream, keys.shardGroup, "-", "+", "10000"])
        var reoffered = 0
        var pending = 0
        for item in reply.array ?? [] {
            guard let fields = item.array, fields.count >= 2, let ticket = fields[0].text,
                let consumer = fields[1].text
            else { continue }
            guard try gone(consumer) else {
                pending += 1
                continue
            }
            let entry = try c.command(["XRANGE", stream, ticket, ticket]).array?.first?.array
            if let shard = entry.flatMap({ Self.field("shard", of: $0) }) {
                _ = try c.pipeline([
                    ["XADD", stream, "*", "shard", String(decoding: shard, as: UTF8.self)],
                    ["XACK", stream, keys.shardGroup, ticket],
                ])
            } else {
                _ = try c.command(["XACK", stream, keys.shardGroup, ticket])
            }
            reoffered += 1
        }
        return (reoffered, pending)
    }

    /// A field of a stream entry ([id, [field, value, ...]]).
    static func field(_ name: String, of entry: [RedisReply]) -> [UInt8]? {
        guard entry.count >= 2, let items = entry[1].array else { return nil }
        var i = 0
        while i + 1 < items.count {
            if items[i].text == name { return items[i + 1].bytes }
            i += 2
        }
        return nil
    }

    /// A broker call whose failure the caller reports as UNAVAILABLE.
    func brokerCall<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (RedisConnection) throws(RedisError) -> T
    ) async throws(ServiceError) -> T {
        do {
            return try await link.call(body)
        } catch {
            throw ServiceError(.unavailable, "the broker cannot be reached to \(what): \(error)", cause: error)
        }
    }
}
