import BacktestProto
import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

@testable import Cluster

#if canImport(Glibc)
    import Glibc
#endif

/// Real nodes on one QuestDB behind HAProxy (LocalCluster, the shape of tools/cluster.sh):
/// the balancer spreads calls over every node, every node reads what another stored,
/// and the fixture's own moves (a node killed and restarted, Redis restarted) work.
@Suite(.enabled(if: LocalCluster.unavailable == nil, "\(LocalCluster.unavailable ?? "")"))
struct LocalClusterTests {
    static func client(_ port: Int) -> (GRPCClient, BacktestServiceClient) {
        let grpc = GRPCClient(configuration: .init(port: port))
        return (grpc, BacktestServiceClient(RPCClient(transport: grpc, metadata: Metadata(), timeout: .seconds(120))))
    }

    /// GOOG's daily candles (sample-data), through `client`, as `symbol`: each cluster
    /// its own, since clusters of tests running at once share one QuestDB and an
    /// import replaces what is stored.
    static func importGOOG(_ client: BacktestServiceClient, as symbol: String) async throws {
        let csv = try [UInt8](
            Data(contentsOf: Subprocess.packageRoot.appendingPathComponent("sample-data/GOOG.csv")))
        let header = ImportHeader(
            symbol: symbol, kind: .candles, timeframe: "1d", format: .csv, sourceName: "GOOG.csv",
            replaceExisting: true)
        let imported = try await client.importMarketData { send in
            try await send(ImportMarketDataRequest(payload: .header(header)))
            try await send(ImportMarketDataRequest(payload: .csvChunk(csv)))
        }
        #expect(imported.rowsImported > 0)
    }

    static func backtest(n1: Double, symbol: String) -> StartBacktestRequest {
        var r = StartBacktestRequest()
        r.symbol = symbol
        r.timeframe = "1d"
        r.startTime = ProtoTimestamp(microsecondsSinceEpoch: 1_092_873_600_000_000)
        r.endTime = ProtoTimestamp(microsecondsSinceEpoch: 1_362_182_400_000_000)
        r.initialCapital = 10_000
        r.strategy = StrategySpec(kind: .builtin(BuiltinStrategy(name: "sma_cross", params: ["n1": n1, "n2": 30])))
        return r
    }

    /// The sessions a node's log says it started (its "session started" lines).
    static func started(_ ids: [String], by node: DaemonProcess) -> Set<String> {
        let lines = node.log.split(separator: "\n").filter { $0.contains("session started") }
        return Set(ids.filter { id in lines.contains { $0.contains("session=\(id)") } })
    }

    @Test func theBalancerSpreadsStartsAndEveryNodeReadsEverySession() async throws {
        let cluster = try await LocalCluster(nodes: 3)
        defer { cluster.end() }
        let (grpc, lb) = Self.client(cluster.lbPort)
        defer { grpc.close() }
        try await Self.importGOOG(lb, as: cluster.name)

        // Nine starts on one connection to the balancer: each call is balanced on its own.
        var ids: [String] = []
        for n1 in 5..<14 {
            let started = try await lb.startBacktest(Self.backtest(n1: Double(n1), symbol: cluster.name))
            #expect(!started.sessionID.isEmpty && !started.deduplicated)
            ids.append(started.sessionID)
        }
        let owners = (0..<3).map { Self.started(ids, by: cluster.node($0)) }
        for (index, own) in owners.enumerated() {
            #expect(!own.isEmpty, "node \(cluster.nodeID(index)) started none of \(ids)")
        }
        #expect(owners.map(\.count).reduce(0, +) == ids.count, "each session started by exactly one node: \(owners)")
        #expect(Set(owners.flatMap { $0 }) == Set(ids))

        // Every session, through the balancer and through each node: the same record
        // once it has ended (the owner's and the store's).
        let direct = cluster.nodePorts.map(Self.client)
        defer { for (grpc, _) in direct { grpc.close() } }
        let readers = [lb] + direct.map(\.1)
        for id in ids {
            var sessions: [Session] = []
            let deadline = ContinuousClock.now + .seconds(120)
            repeat {
                sessions = []
                for reader in readers {
                    let session = try #require(try await reader.getSession(GetSessionRequest(sessionID: id)).session)
                    sessions.append(session)
                }
                if sessions.allSatisfy({ $0.status == .completed }) { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < deadline
            #expect(sessions.allSatisfy { $0.sessionID == id && $0.status == .completed }, "\(sessions)")
            let encoded = try sessions.map { try $0.serializedBytes() }
            #expect(Set(encoded).count == 1, "\(id): the balancer's and each node's records differ: \(sessions)")
        }
    }

    @Test func aNodeKilledComesBackOnItsPortAndRedisOnItsPort() async throws {
        let cluster = try await LocalCluster(nodes: 2)
        defer { cluster.end() }
        let (grpc, lb) = Self.client(cluster.lbPort)
        defer { grpc.close() }
        try await Self.importGOOG(lb, as: cluster.name)
        let id = try await lb.startBacktest(Self.backtest(n1: 10, symbol: cluster.name)).sessionID
        // In QuestDB before the kill: a loaded QuestDB can leave a write in the node's
        // spool for a moment, and a node killed then delivers it only when it is back.
        let direct = cluster.nodePorts.map(Self.client)
        defer { for (grpc, _) in direct { grpc.close() } }
        for (_, node) in direct {
            try await ClusterSessionTests.eventually("session \(id) readable through every node") {
                (try? await node.getSession(GetSessionRequest(sessionID: id)).session?.sessionID) == id
            }
        }

        let port = cluster.nodePort(1)
        await cluster.killNode(1)
        #expect(!cluster.node(1).process.isRunning)
        let (gone, goneClient) = Self.client(port)
        await #expect(throws: (any Error).self) { try await goneClient.getSession(GetSessionRequest(sessionID: id)) }
        gone.close()
        // The balancer's checks see it down; calls through it still answer.
        #expect(try await Self.waitFor(cluster, "node-2", "DOWN"))
        #expect(try await lb.getSession(GetSessionRequest(sessionID: id)).session?.sessionID == id)

        try await cluster.restartNode(1)
        #expect(cluster.nodePort(1) == port)
        let (back, backClient) = Self.client(port)
        defer { back.close() }
        #expect(try await backClient.getSession(GetSessionRequest(sessionID: id)).session?.sessionID == id)
        #expect(try await Self.waitFor(cluster, "node-2", "UP"))

        let redisPort = cluster.redisPort
        let before = try RedisConnection(host: "127.0.0.1", port: redisPort)
        try before.command(["SET", "k", "v"])
        try await cluster.restartRedis()
        #expect(cluster.redisPort == redisPort)
        let after = try RedisConnection(host: "127.0.0.1", port: redisPort)
        #expect(try after.command(["GET", "k"]) == .null, "a restarted Redis is empty")
        await cluster.stop()
        #expect(!cluster.node(0).process.isRunning && !cluster.node(1).process.isRunning)
        #expect(!cluster.balancer.process.isRunning && !cluster.redis.process.isRunning)
    }

    /// Waits (two minutes at most) until the balancer's checks say `state` of `node`.
    static func waitFor(_ cluster: LocalCluster, _ node: String, _ state: String) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if try cluster.balancer.nodeStates()[node] == state { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the balancer says \(try cluster.balancer.nodeStates()), not \(node) \(state)")
        return false
    }
}
