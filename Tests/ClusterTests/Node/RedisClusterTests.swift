import BacktestCore
import BacktestEngine
import BacktestStore
import Foundation
import TestSupport
import Testing

@testable import Cluster

/// Two nodes in one process: two registries on one real SQLite store, each joined to
/// the cluster on a real redis-server, so what crosses nodes goes through the broker
/// exactly as between daemons (the daemons themselves: LocalClusterTests).
@Suite(.enabled(if: RedisServer.unavailable == nil, "\(RedisServer.unavailable ?? "")"))
struct RedisClusterTests {
    final class Nodes: @unchecked Sendable {
        let fixture: BrokerFixture
        var redis: RedisServer { fixture.redis }
        var store: SQLiteStore { fixture.store }
        let a: EngineRegistry
        let b: EngineRegistry
        let clusterA: RedisCluster
        let clusterB: RedisCluster

        /// A's registry reads and writes through `faultsA` (the real store behind switches).
        let faultsA: FaultyStore

        init(limits: EngineRegistry.Limits = .init()) async throws {
            fixture = try await BrokerFixture(withGOOG: true)
            let (redis, store) = (fixture.redis, fixture.store)
            clusterA = RedisCluster(
                nodeId: "node-a", host: "127.0.0.1", port: redis.port, store: store, options: Self.options)
            clusterB = RedisCluster(
                nodeId: "node-b", host: "127.0.0.1", port: redis.port, store: store, options: Self.options)
            faultsA = FaultyStore(store)
            a = EngineRegistry(store: faultsA, limits: limits, cluster: clusterA)
            b = EngineRegistry(store: store, limits: limits, cluster: clusterB)
            await clusterA.join(a, address: "127.0.0.1:1")
            await clusterB.join(b, address: "127.0.0.1:2")
        }

        /// Leases long enough for a test process running every other suite at once (a
        /// node taken for lost ends its sessions FAILED): these nodes' heartbeats share
        /// its cooperative threads with all of them (the daemons' tests keep 3 s).
        static var options: RedisCluster.Options {
            var options = RedisCluster.Options()
            options.lease = .seconds(30)
            return options
        }

        func stop() async {
            await a.shutdown()
            await b.shutdown()
            await clusterA.leave()
            await clusterB.leave()
            fixture.remove()
        }
    }

    /// The whole GOOG sample over an hour: it runs for the whole test.
    static func slow(_ label: String = "") -> RunRequest {
        RunRequest(
            symbol: "GOOG", timeframe: .candles(seconds: 86_400), start: 1_092_873_600_000_000,
            end: 1_362_182_400_000_000,
            config: BacktestConfig(
                initialCapital: 10_000, strategy: .builtin(name: "sma_cross", params: ["n1": 10, "n2": 20])),
            accelerationFactor: 3117 * 86_400 / 3600, labels: label.isEmpty ? [:] : ["test": label],
            encoded: Array("slow \(label)".utf8))
    }

    /// A watch on node B of a session node A runs: B's events come from A's run (progress
    /// moves), there is exactly one terminal, and a StopBacktest through B stops it on A.
    @Test func aWatchAndAStopThroughAnotherNode() async throws {
        let nodes = try await Nodes()
        let id = try await nodes.a.start(Self.slow()).sessionId
        let seen = EventLog<RunProgress>()
        let watch = Task { try await nodes.b.watch(id, minInterval: .milliseconds(10)) { seen.append($0) } }
        // Progress made on A shows on B.
        let patience = ContinuousClock.now + .seconds(120)  // for a busy machine, not an idle one
        while !seen.events.contains(where: { $0.eventsProcessed > 0 && $0.kind == .update }) {
            try #require(ContinuousClock.now < patience, "no progress of A's run reached B: \(seen.events)")
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await nodes.b.record(id)?.state == .running, "GetSession through B: A's live state")
        let stopped = try await nodes.b.stop(id, reason: "enough")
        #expect(stopped.state == .stopped && !stopped.alreadyEnded)
        try await watch.value
        let events = seen.events
        #expect(events.first?.kind == .snapshot)
        #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        let stored = try #require(try await nodes.store.session(id: id))
        #expect(stored.state == .stopped && stored.stopReason == "enough")
        let last = try #require(events.last)
        #expect(last.state == .stopped && last.stopReason == "enough")
        #expect(last.eventsProcessed == stored.eventsProcessed, "the terminal event has the stored figures")
        // Ended: B answers from the store; a second stop says it had ended.
        #expect(try await nodes.b.stop(id, reason: "again").alreadyEnded)
        #expect(await nodes.b.active(symbol: "").isEmpty)
        await nodes.stop()
    }

    /// Nodes of one run slot, both busy: a session waiting on A stays there while B is
    /// full, and moves to B once B is free, as it is (its id, its creation time, one
    /// stored row); a watch through A that began while it waited follows it there to
    /// its end, and a stop through A reaches it on B.
    @Test func aWaitingSessionMovesToAFreeNode() async throws {
        let nodes = try await Nodes(limits: .init(maxRunning: 1, maxQueued: 4))
        let b = nodes.b
        await nodes.a.setMover { spec, handover in
            (try? await b.start(spec, onlyIfFree: true, handover: handover)) != nil
        }
        // A's slot held: its session's data reads wait (a paced one would give its slot
        // back while it sleeps, and the next would not wait).
        nodes.faultsA.holdReads()
        var fast = Self.slow("on A")
        fast.accelerationFactor = 0
        let onA = try await nodes.a.start(fast).sessionId
        let onB = try await nodes.b.start(Self.slow("on B")).sessionId
        let waiting = try await nodes.a.start(Self.slow("waiting"))
        let seen = EventLog<RunProgress>()
        let watch = Task {
            try await nodes.a.watch(waiting.sessionId, minInterval: .milliseconds(10)) { seen.append($0) }
        }
        // B full: it stays on A, waiting, and is offered to nobody.
        await nodes.a.moveWaiting()
        #expect(await nodes.a.localActive().contains { $0.record.id == waiting.sessionId && $0.waiting != nil })
        #expect(await !nodes.b.localActive().contains { $0.record.id == waiting.sessionId })

        _ = try await nodes.b.stop(onB, reason: "make room")
        let patience = ContinuousClock.now + .seconds(120)  // for a busy machine, not an idle one
        while await !nodes.b.localActive().contains(where: { $0.record.id == waiting.sessionId }) {
            try #require(ContinuousClock.now < patience, "the waiting session never moved to B")
            await nodes.a.moveWaiting()  // the heartbeat's call may be the one that moves it
            try await Task.sleep(for: .milliseconds(20))
        }
        // A lets it go once B's answer is in (B may list it a moment before).
        while await nodes.a.localActive().contains(where: { $0.record.id == waiting.sessionId }) {
            try #require(ContinuousClock.now < patience, "A never let the moved session go")
            try await Task.sleep(for: .milliseconds(20))
        }
        while !seen.events.contains(where: { $0.eventsProcessed > 0 }) {
            try #require(ContinuousClock.now < patience, "no progress from B reached the watch on A: \(seen.events)")
            try await Task.sleep(for: .milliseconds(20))
        }
        let stopped = try await nodes.a.stop(waiting.sessionId, reason: "through A")
        #expect(stopped.state == .stopped && !stopped.alreadyEnded)
        try await watch.value
        let events = seen.events
        #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
        #expect(events.last?.state == .stopped && events.last?.stopReason == "through A")
        let stored = try #require(try await nodes.store.session(id: waiting.sessionId))
        #expect(stored.state == .stopped && stored.createdAt == waiting.createdAt && stored.startedAt != nil)
        let rows = try await nodes.store.listSessions(SessionQuery())
        #expect(rows.sessions.filter { $0.id == waiting.sessionId }.count == 1)
        nodes.faultsA.releaseReads()
        _ = try await nodes.a.stop(onA, reason: "")
        await nodes.stop()
    }

    /// A handover naming a waiting session but carrying another request (a client that
    /// sets the placement headers itself) takes nothing over, and the first node's offer
    /// stands.
    @Test func aHandoverWithAnotherRequestIsRefused() async throws {
        let nodes = try await Nodes(limits: .init(maxRunning: 1, maxQueued: 4))
        nodes.faultsA.holdReads()
        var fast = Self.slow("on A")
        fast.accelerationFactor = 0
        _ = try await nodes.a.start(fast)
        let waiting = try await nodes.a.start(Self.slow("waiting"))
        let broker = try RedisConnection(host: "127.0.0.1", port: nodes.redis.port)
        try broker.command(["SET", "bt:handover:\(waiting.sessionId)", "node-a", "PX", "60000"])
        let handover = EngineRegistry.Handover(
            sessionId: waiting.sessionId, createdAt: waiting.createdAt, from: "node-a")
        do {
            _ = try await nodes.b.start(Self.slow("another request"), onlyIfFree: true, handover: handover)
            Issue.record("a handover with another request was admitted")
        } catch {
            #expect(error.kind == .failedPrecondition, "\(error)")
        }
        #expect(try broker.command(["GET", "bt:handover:\(waiting.sessionId)"]).text == "node-a")
        #expect(await nodes.b.localActive().isEmpty)
        nodes.faultsA.releaseReads()
        await nodes.stop()
    }

    /// A node's word on a session another node answers for (a re-announcement read
    /// before the session moved, sent after) changes nothing: the owner stays, and the
    /// node's own lists do not take it in.
    @Test func aStaleWordOfAnotherNodeChangesNothing() async throws {
        let nodes = try await Nodes()
        let id = try await nodes.b.start(Self.slow("on B")).sessionId
        let active = try #require(await nodes.b.localActive().first { $0.record.id == id })
        await nodes.clusterA.publish(active)
        let broker = try RedisConnection(host: "127.0.0.1", port: nodes.redis.port)
        #expect(try broker.command(["GET", "bt:owner:\(id)"]).text == "node-b")
        #expect(try broker.command(["SISMEMBER", "bt:owned:node-a", id]).integer == 0)
        #expect(try broker.command(["HEXISTS", "bt:active:node-a", id]).integer == 0)
        #expect(try broker.command(["SISMEMBER", "bt:owned:node-b", id]).integer == 1)
        _ = try await nodes.a.stop(id, reason: "through A")
        #expect(try await nodes.store.session(id: id)?.state == .stopped)
        await nodes.stop()
    }

    /// ListActive through either node lists both nodes' sessions, oldest first; a stop
    /// through one node of the other's queued session ends it there.
    @Test func everyNodeListsEverySession() async throws {
        let nodes = try await Nodes()
        let first = try await nodes.a.start(Self.slow("1")).sessionId
        let second = try await nodes.b.start(Self.slow("2")).sessionId
        let third = try await nodes.a.start(Self.slow("3")).sessionId
        for registry in [nodes.a, nodes.b] {
            var ids: [String] = []
            // B hears of A's sessions through the broker: at once, as they are announced
            // before StartBacktest answers.
            ids = await registry.active(symbol: "").map(\.record.id)
            #expect(ids == [first, second, third])
            #expect(await registry.active(symbol: "MSFT").isEmpty)
        }
        for id in [first, second, third] {
            let stopped = try await nodes.b.stop(id, reason: "done")
            #expect(stopped.state == .stopped)
        }
        #expect(await nodes.a.active(symbol: "").isEmpty)
        #expect(await nodes.b.active(symbol: "").isEmpty)
        await nodes.stop()
    }

    /// A stop for a session whose node is gone from the broker (it never said it runs
    /// it) is UNAVAILABLE, naming the session, not a hang.
    @Test func aSessionNoNodeAnswersForIsUnavailable() async throws {
        let nodes = try await Nodes()
        // A STARTED record nobody runs (left by a node outside the cluster).
        let orphan = SessionRecord(
            id: "orphan-1", state: .running, symbol: "GOOG", timeframe: "1d",
            range: TimeRange(start: 1_092_873_600_000_000, end: 1_362_182_400_000_000), strategyName: "default",
            accelerationFactor: 0, request: [], createdAt: 1)
        try await nodes.store.saveSession(orphan)
        do {
            _ = try await nodes.b.stop("orphan-1", reason: "")
            Issue.record("expected UNAVAILABLE")
        } catch {
            #expect(error.kind == .unavailable)
            #expect(error.message.contains("orphan-1"))
        }
        await nodes.stop()
    }

    /// A node answers calls before it joins (its port is bound first): a session it
    /// started then is its own, not one its previous process left, and joining leaves
    /// it running.
    @Test func joiningKeepsTheSessionsStartedBefore() async throws {
        let nodes = try await Nodes()
        let cluster = RedisCluster(
            nodeId: "node-c", host: "127.0.0.1", port: nodes.redis.port, store: nodes.store, options: Nodes.options)
        let c = EngineRegistry(store: nodes.store, cluster: cluster)
        let id = try await c.start(Self.slow("early")).sessionId
        await cluster.join(c, address: "127.0.0.1:3")
        #expect(try await nodes.store.session(id: id)?.state.isTerminal == false)
        #expect(await nodes.a.active(symbol: "").map(\.record.id) == [id], "announced, and still so after joining")
        #expect(try await nodes.a.stop(id, reason: "done").state == .stopped)
        await c.shutdown()
        await cluster.leave()
        await nodes.stop()
    }

    /// The broker's words survive NaN and infinities (a win rate of no trades).
    @Test func activeStatesRoundTripThroughJSON() throws {
        var record = SessionRecord(
            id: "s", state: .running, symbol: "GOOG", timeframe: "1d", range: TimeRange(start: 1, end: 2),
            strategyName: "x", accelerationFactor: .infinity, request: [1, 2, 3], labels: ["a": "b"], createdAt: 5)
        record.winRatePct = .nan
        var progress = RunProgress(sessionId: "s", state: .running)
        progress.eta = .milliseconds(1500)
        progress.sequence = 7
        let active = EngineRegistry.Active(record: record, progress: progress, waiting: .runSlot(running: 2, ahead: 1))
        let back = try #require(
            ClusterCoding.decode(EngineRegistry.Active.self, Array(ClusterCoding.encode(active).utf8)))
        #expect(back.record == record && back.progress == progress && back.waiting == active.waiting)
    }
}
