import BacktestCore
import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import Cluster

/// A node's sweeps on a broker that cannot be reached (a real redis-server, killed):
/// the sweep runs on its node alone, as on a single node, and the node still shuts
/// down promptly. Sweeps spread over live nodes: ClusterSweepTests.
@Suite(.enabled(if: RedisServer.unavailable == nil, "\(RedisServer.unavailable ?? "")"))
struct RedisClusterSweepTests {
    @Test func aSweepRunsAloneWhenTheBrokerCannotBeReached() async throws {
        let fixture = try await BrokerFixture(withGOOG: true)
        defer { fixture.remove() }
        let (redis, store) = (fixture.redis, fixture.store)
        redis.kill()
        let cluster = RedisCluster(nodeId: "alone", host: "127.0.0.1", port: redis.port, store: store)
        let sweeps = SweepRegistry(
            store: store, limits: .init(workers: 2), cluster: cluster,
            decode: { _ throws(ServiceError) in throw ServiceError(.internal, "no other node's sweep reaches it") })
        await sweeps.joinCluster()
        await sweeps.startComputingShards()
        let request = SweepRequest(
            base: RunRequest(
                symbol: "GOOG", timeframe: .candles(seconds: 86_400), start: 1_092_873_600_000_000,
                end: 1_362_182_400_000_000,
                config: BacktestConfig(
                    initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])),
                encoded: Array("base".utf8)),
            axes: [
                SweepAxis(name: "n1", values: .range(start: 5, stop: 12, step: 1)),
                SweepAxis(name: "n2", values: .list([20, 30])),
            ], topK: 2, encoded: Array("sweep".utf8))
        let started = try await sweeps.start(request)
        var events: [SweepProgress] = []
        try await sweeps.watch(started.sweepId, minInterval: .milliseconds(1)) { events.append($0) }
        let end = try #require(events.last)
        #expect(end.kind == .terminal && end.state == .completed && end.done == started.total && end.failed == 0)
        let page = try await store.sweepResults(
            SweepResultQuery(sweepId: started.sweepId, sortKey: "sharpeRatio", descending: true, pageSize: 100))
        #expect(page.rows.count == Int(started.total))
        #expect(page.rows.filter { !$0.sessionId.isEmpty }.count == 2, "its best run in full here")
        await sweeps.shutdown()
    }
}
