import BacktestProto
import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

@testable import Cluster

/// Three real nodes joined through a real Redis, on one QuestDB, behind HAProxy
/// (docs/DESIGN.md section 15): every node answers for every session, a node killed
/// has its sessions failed by the others, a restarted broker loses nothing, a full
/// node places sessions elsewhere.
// One cluster at a time: three nodes each are enough for two cores.
@Suite(.serialized, .enabled(if: LocalCluster.unavailable == nil, "\(LocalCluster.unavailable ?? "")"))
struct ClusterSessionTests {
    typealias Client = (grpc: GRPCClient, api: BacktestServiceClient)

    static func start(nodes: Int = 3, slots: Int? = nil) async throws -> (LocalCluster, lb: Client, nodes: [Client]) {
        let cluster = try await LocalCluster(nodes: nodes, slots: slots) { ["--broker", $0.broker] }
        let lb = LocalClusterTests.client(cluster.lbPort)
        try await cluster.explaining { try await LocalClusterTests.importGOOG(lb.1, as: cluster.name) }
        return (cluster, lb, cluster.nodePorts.map(LocalClusterTests.client))
    }

    /// The whole GOOG sample over an hour: it runs for the whole test.
    static func slow(_ cluster: LocalCluster, _ n1: Double = 10) -> StartBacktestRequest {
        slow(symbol: cluster.name, n1)
    }

    static func slow(symbol: String, _ n1: Double = 10) -> StartBacktestRequest {
        var r = LocalClusterTests.backtest(n1: n1, symbol: symbol)
        r.accelerationFactor = 3117 * 86_400 / 3600
        return r
    }

    /// Which node's log says it started `id` (its index).
    static func owner(of id: String, in cluster: LocalCluster) -> Int? {
        (0..<cluster.nodeCount).first { !LocalClusterTests.started([id], by: cluster.node($0)).isEmpty }
    }

    /// Where `id` is now: the node that took it over, if it waited and moved (DESIGN
    /// 15.4), else the node that started it.
    static func node(of id: String, in cluster: LocalCluster) -> Int? {
        let taker = (0..<cluster.nodeCount).first { index in
            cluster.node(index).log.split(separator: "\n").contains {
                $0.contains("waiting session taken over") && $0.contains("session=\(id)")
            }
        }
        return taker ?? owner(of: id, in: cluster)
    }

    /// Every event of a watch through `client`, as they come, into `log`.
    static func watch(_ id: String, _ client: BacktestServiceClient, into log: EventLog<ProgressEvent>) -> Task<
        Void, any Error
    > {
        Task {
            try await client.watchProgress(WatchProgressRequest(sessionID: id)) { log.append($0) }
        }
    }

    /// What the broker holds, for a failure's message.
    static func brokerKeys(_ cluster: LocalCluster) -> String {
        guard let redis = try? RedisConnection(host: "127.0.0.1", port: cluster.redisPort) else { return "unreachable" }
        let keys = (try? redis.command(["KEYS", "*"]).array?.compactMap(\.text)) ?? []
        return keys.sorted().map { key in
            let type = (try? redis.command(["TYPE", key]).text) ?? "?"
            let value: String
            switch type {
            case "string": value = (try? redis.command(["GET", key]).text) ?? ""
            case "set": value = "\((try? redis.command(["SMEMBERS", key]).array?.compactMap(\.text)) ?? [])"
            case "hash": value = "\((try? redis.command(["HKEYS", key]).array?.compactMap(\.text)) ?? [])"
            default: value = type
            }
            return "\(key)=\(value)"
        }.joined(separator: " ")
    }

    /// Waits (two minutes at most: a busy machine, not an idle one) for `condition`.
    static func eventually(_ what: @autoclosure () -> String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what())")
        throw CancellationError()
    }

    @Test func everyNodeStartsWatchesListsAndStopsEverySession() async throws {
        let (cluster, lb, nodes) = try await Self.start()
        defer { cluster.end() }
        try await cluster.explaining {
            // One session started through each node.
            var ids: [String] = []
            for (i, node) in nodes.enumerated() {
                ids.append(try await node.api.startBacktest(Self.slow(cluster, Double(5 + i))).sessionID)
            }
            for (i, id) in ids.enumerated() { #expect(Self.owner(of: id, in: cluster) == i) }
            // Each node lists all three, oldest first, and so does the balancer.
            for client in nodes + [lb] {
                try await Self.eventually("every session listed") {
                    try await client.api.listActive(ListActiveRequest()).sessions.map(\.sessionID) == ids
                }
            }
            // A watcher on each node other than the owner: progress as it runs there.
            let watched = (0..<3).map { _ in EventLog<ProgressEvent>() }
            let watches = ids.indices.map { i in Self.watch(ids[i], nodes[(i + 1) % 3].api, into: watched[i]) }
            for log in watched {
                try await Self.eventually("progress from the owner") {
                    log.events.contains { $0.kind == .update && $0.eventsProcessed > 0 }
                }
            }
            // GetSession through a node that does not run it: the owner's live state.
            let live = try #require(try await nodes[2].api.getSession(GetSessionRequest(sessionID: ids[0])).session)
            #expect(live.status == .running)
            // Each stopped through yet another node.
            for (i, id) in ids.enumerated() {
                let stopped = try await nodes[(i + 2) % 3].api.stopBacktest(
                    StopBacktestRequest(sessionID: id, reason: "through node \((i + 2) % 3)"))
                #expect(stopped.status == .stopped && !stopped.alreadyEnded)
            }
            for task in watches { try await task.value }
            for (i, log) in watched.enumerated() {
                let events = log.events
                #expect(events.first?.kind == .snapshot)
                #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
                #expect(events.last?.status == .stopped && events.last?.stopReason == "through node \((i + 2) % 3)")
                #expect(zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
                let stored = try #require(try await lb.api.getSession(GetSessionRequest(sessionID: ids[i])).session)
                #expect(stored.status == .stopped && stored.totalTrades == events.last?.trades)
            }
            for client in nodes { #expect(try await client.api.listActive(ListActiveRequest()).sessions.isEmpty) }
            await cluster.stop()
        }
    }

    /// SIGKILL of the node running a session: a watcher on another node gets one
    /// terminal event, FAILED "node X lost"; the store says the same; the other nodes'
    /// sessions go on.
    @Test func aKilledNodesSessionsFailEverywhereElse() async throws {
        let (cluster, lb, nodes) = try await Self.start()
        defer { cluster.end() }
        try await cluster.explaining {
            let doomed = try await nodes[0].api.startBacktest(Self.slow(cluster, 5)).sessionID
            let survivor = try await nodes[1].api.startBacktest(Self.slow(cluster, 6)).sessionID
            let log = EventLog<ProgressEvent>()
            let watch = Self.watch(doomed, nodes[2].api, into: log)
            try await Self.eventually("progress from node 1: \(log.events)") {
                log.events.contains { $0.kind == .update && $0.eventsProcessed > 0 }
            }
            await cluster.killNode(0)
            try await watch.value
            let events = log.events
            #expect(events.filter { $0.kind == .terminal }.count == 1)
            let last = try #require(events.last)
            #expect(last.kind == .terminal && last.status == .failed)
            #expect(last.errorMessage == "node \(cluster.nodeID(0)) lost")
            #expect(last.eventsProcessed > 0, "the progress the node last reported is kept")
            let stored = try #require(try await lb.api.getSession(GetSessionRequest(sessionID: doomed)).session)
            #expect(stored.status == .failed && stored.errorMessage == "node \(cluster.nodeID(0)) lost")
            // The other session runs on; the survivors list it and not the dead one's.
            for client in nodes.dropFirst() {
                #expect(try await client.api.listActive(ListActiveRequest()).sessions.map(\.sessionID) == [survivor])
            }
            #expect(try await nodes[2].api.stopBacktest(StopBacktestRequest(sessionID: survivor)).status == .stopped)
            await cluster.stop()
        }
    }

    /// A node frozen (SIGSTOP) past its lease is taken for lost: its session is FAILED
    /// everywhere. Thawed, it finds its lease lapsed, stops that run, and the run keeps
    /// the end the others gave it rather than store its own over it.
    @Test func aNodeTakenForLostKeepsTheEndOthersGave() async throws {
        let (cluster, lb, nodes) = try await Self.start()
        defer { cluster.end() }
        try await cluster.explaining {
            let id = try await nodes[0].api.startBacktest(Self.slow(cluster)).sessionID
            let log = EventLog<ProgressEvent>()
            let watch = Self.watch(id, nodes[1].api, into: log)
            try await Self.eventually("progress") { log.events.contains { $0.eventsProcessed > 0 } }
            cluster.node(0).send(SIGSTOP)
            defer { cluster.node(0).send(SIGCONT) }
            try await watch.value
            let lost = "node \(cluster.nodeID(0)) lost"
            #expect(log.events.last?.status == .failed && log.events.last?.errorMessage == lost)
            cluster.node(0).send(SIGCONT)
            try await Self.eventually("the thawed node gives its run up") {
                cluster.node(0).log.contains("that end stands")
            }
            // Stored again once its run has given up (a progress save of the thawed run may
            // have landed over it before the node learnt it was taken for lost).
            let stored = try #require(try await lb.api.getSession(GetSessionRequest(sessionID: id)).session)
            #expect(stored.status == .failed && stored.errorMessage == lost, "\(stored)")
            try await Self.eventually("no node lists it") {
                let elsewhere = try await nodes[2].api.listActive(ListActiveRequest()).sessions
                let there = try await nodes[0].api.listActive(ListActiveRequest()).sessions
                return elsewhere.isEmpty && there.isEmpty
            }
            await cluster.stop()
        }
    }

    /// A node stopped with SIGTERM drains as a single node does: its session ends
    /// STOPPED, and a watcher on another node gets that end.
    @Test func aNodeLeavingDrainsItsSessionsForEveryWatcher() async throws {
        let (cluster, lb, nodes) = try await Self.start(nodes: 2)
        defer { cluster.end() }
        try await cluster.explaining {
            let id = try await nodes[0].api.startBacktest(Self.slow(cluster)).sessionID
            let log = EventLog<ProgressEvent>()
            let watch = Self.watch(id, nodes[1].api, into: log)
            try await Self.eventually("progress") { log.events.contains { $0.eventsProcessed > 0 } }
            #expect(await cluster.stopNode(0) == 0)
            try await watch.value
            #expect(log.events.filter { $0.kind == .terminal }.count == 1)
            #expect(log.events.last?.status == .stopped && log.events.last?.stopReason == "server shutting down")
            let stored = try #require(try await lb.api.getSession(GetSessionRequest(sessionID: id)).session)
            #expect(stored.status == .stopped)
            await cluster.stop()
        }
    }

    /// The broker killed and started again, empty, while a session runs and is
    /// watched from another node: the watch goes on to the end, and a stop through a
    /// third node finds the session's node again.
    @Test func aRestartedBrokerLosesNothing() async throws {
        let (cluster, _, nodes) = try await Self.start()
        defer { cluster.end() }
        try await cluster.explaining {
            let id = try await nodes[0].api.startBacktest(Self.slow(cluster)).sessionID
            let log = EventLog<ProgressEvent>()
            let watch = Self.watch(id, nodes[1].api, into: log)
            try await Self.eventually("progress: \(log.events); broker: \(Self.brokerKeys(cluster))") {
                log.events.contains { $0.eventsProcessed > 0 }
            }
            try await cluster.restartRedis()
            let before = log.events.last?.eventsProcessed ?? 0
            try await Self.eventually("progress after the restart") {
                (log.events.last?.eventsProcessed ?? 0) > before
            }
            try await Self.eventually("listed again") {
                try await nodes[2].api.listActive(ListActiveRequest()).sessions.map(\.sessionID) == [id]
            }
            let stopped = try await nodes[2].api.stopBacktest(StopBacktestRequest(sessionID: id, reason: "after"))
            #expect(stopped.status == .stopped && !stopped.alreadyEnded)
            try await watch.value
            #expect(log.events.filter { $0.kind == .terminal }.count == 1)
            #expect(log.events.last?.status == .stopped)
            await cluster.stop()
        }
    }

    /// Nodes of one run slot each: three sessions started through one node run on
    /// three nodes (placed there, or moved there once they waited); a fourth waits on
    /// the node it reached.
    @Test func aFullNodePlacesSessionsOnFreeOnes() async throws {
        let (cluster, _, nodes) = try await Self.start(slots: 1)
        defer { cluster.end() }
        try await cluster.explaining {
            var ids: [String] = []
            for n1 in 5..<8 {
                // A node that has just taken one may not have said so yet: it then refuses the
                // next one, which goes to the following node.
                ids.append(try await nodes[0].api.startBacktest(Self.slow(cluster, Double(n1))).sessionID)
            }
            // Placed at once, or (a node not yet known to be free then) moved there within
            // a heartbeat or two.
            try await Self.eventually("three sessions on three nodes") {
                Set(ids.compactMap { Self.node(of: $0, in: cluster) }) == [0, 1, 2]
            }
            let fourth = try await nodes[0].api.startBacktest(Self.slow(cluster, 8)).sessionID
            #expect(Self.node(of: fourth, in: cluster) == 0, "no node is free: it waits where it came")
            #expect(try await nodes[1].api.listActive(ListActiveRequest()).sessions.map(\.sessionID) == ids + [fourth])
            for id in ids + [fourth] {
                #expect(try await nodes[2].api.stopBacktest(StopBacktestRequest(sessionID: id)).status == .stopped)
            }
            await cluster.stop()
        }
    }
}
