import BacktestCore
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import Cluster

/// A lost node's sweep that its reaper cannot take over (the reaper is leaving, or its
/// store cannot be read) goes back to the lost node's name, and a later reaper adopts
/// it; a node that leaves still listed as a sweep's coordinator stays a member without
/// a lease, so that another node takes that sweep over. Real Redis; each node's sweeps
/// are a `Taker` that takes over what it is offered or hands it back, as
/// `SweepRegistry.adopt` decides (the daemons: ClusterSweepTests).
@Suite(.enabled(if: RedisServer.unavailable == nil, "\(RedisServer.unavailable ?? "")"))
struct RedisClusterAdoptionTests {
    actor Taker: SweepMember {
        let cluster: RedisCluster
        let takes: Bool
        private(set) var adopted: [String] = []

        init(_ cluster: RedisCluster, takes: Bool) {
            self.cluster = cluster
            self.takes = takes
        }

        func stopRequested(_ sweepId: String, reason: String) async {}

        func adopt(_ sweepId: String, request: [UInt8], from node: String) async {
            if takes { adopted.append("\(sweepId) from \(node)") } else { await cluster.handBack(sweepId, to: node) }
        }
    }

    @Test func aSweepNoReaperCanTakeIsAdoptedByTheNext() async throws {
        let fixture = try await BrokerFixture()
        defer { fixture.remove() }
        let (redis, store) = (fixture.redis, fixture.store)
        func node(_ id: String) -> RedisCluster {
            RedisCluster(nodeId: id, host: "127.0.0.1", port: redis.port, store: store)
        }
        let broker = try RedisConnection(host: "127.0.0.1", port: redis.port)
        func holds(_ set: String, _ member: String) throws -> Bool {
            try broker.command(["SISMEMBER", "bt:\(set)", member]).integer == 1
        }

        // A coordinator announces its sweep, then is lost: a member without a lease.
        let lost = node("lost")
        await lost.announce(SweepProgress(sweepId: "sweep-1", state: .running, total: 10))
        try broker.command(["SADD", "bt:nodes", "lost"])

        // Its reaper is leaving: the sweep goes back to the lost node, still a member.
        let leaving = node("leaving")
        let refuser = Taker(leaving, takes: false)
        await leaving.joinSweeps(refuser)
        await leaving.reapDead()
        #expect(try holds("coordinating:lost", "sweep-1"))
        #expect(try !holds("coordinating:leaving", "sweep-1"))
        #expect(try holds("nodes", "lost"), "reaped again by the next heartbeat")
        #expect(try broker.command(["HGET", "bt:sweep:sweep-1", "coordinator"]).text == "lost")

        // The next reaper takes it over, and the lost node is no longer a member.
        let taker = node("taker")
        let adopter = Taker(taker, takes: true)
        await taker.joinSweeps(adopter)
        await taker.reapDead()
        #expect(await adopter.adopted == ["sweep-1 from lost"])
        #expect(try holds("coordinating:taker", "sweep-1"))
        #expect(try !holds("nodes", "lost"))
        #expect(try broker.command(["HGET", "bt:sweep:sweep-1", "coordinator"]).text == "taker")

        // The taker leaves still listed as the sweep's coordinator: it stays a member,
        // without its lease, and a third node takes the sweep over.
        try broker.command(["SADD", "bt:nodes", "taker"])
        await taker.leave()
        #expect(try holds("nodes", "taker"))
        #expect(try broker.command(["EXISTS", "bt:node:taker"]).integer == 0)
        let third = node("third")
        let heir = Taker(third, takes: true)
        await third.joinSweeps(heir)
        await third.reapDead()
        #expect(await heir.adopted == ["sweep-1 from taker"])
        #expect(try !holds("nodes", "taker"))

        // A node that leaves coordinating nothing is a member no longer.
        try broker.command(["SADD", "bt:nodes", "idle"])
        await node("idle").leave()
        #expect(try !holds("nodes", "idle"))
    }

    /// The registry's own decision: a node shutting down hands a lost node's sweep back
    /// rather than drop it.
    @Test func aNodeShuttingDownHandsTheSweepBack() async throws {
        let fixture = try await BrokerFixture()
        defer { fixture.remove() }
        let (redis, store) = (fixture.redis, fixture.store)
        let cluster = RedisCluster(nodeId: "leaving", host: "127.0.0.1", port: redis.port, store: store)
        let sweeps = SweepRegistry(
            store: store, cluster: cluster,
            decode: { _ throws(ServiceError) in throw ServiceError(.internal, "not reached") })
        await sweeps.joinCluster()
        await sweeps.shutdown()
        // As the reaper's SMOVE leaves it: listed as this node's.
        let broker = try RedisConnection(host: "127.0.0.1", port: redis.port)
        try broker.command(["SADD", "bt:coordinating:leaving", "sweep-2"])
        await sweeps.adopt("sweep-2", request: [], from: "lost")
        #expect(try broker.command(["SISMEMBER", "bt:coordinating:lost", "sweep-2"]).integer == 1)
        #expect(try broker.command(["SISMEMBER", "bt:coordinating:leaving", "sweep-2"]).integer == 0)
        #expect(try broker.command(["SISMEMBER", "bt:nodes", "lost"]).integer == 1)
    }
}
