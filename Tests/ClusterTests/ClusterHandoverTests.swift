import BacktestCore
import BacktestProto
import BacktestService
import BacktestStore
import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

@testable import Cluster

/// A waiting session moved to a node that has become free (docs/DESIGN.md section
/// 15.4), over the wire: two whole services in this process, each on its own port,
/// joined through a real Redis, on one real SQLite store; node A's reads go through
/// switches, so that its one run slot stays taken and the next session waits.
@Suite(.enabled(if: RedisServer.unavailable == nil, "\(RedisServer.unavailable ?? "")"))
struct ClusterHandoverTests {
    @Test func aWaitingSessionMovesToTheNodeThatBecameFree() async throws {
        let fixture = try await BrokerFixture(withGOOG: true)
        defer { fixture.remove() }
        let (redis, store) = (fixture.redis, fixture.store)
        let faults = FaultyStore(store)
        func node(_ id: String, _ store: any BacktestStore) -> BacktestServer {
            var configuration = BacktestServer.Configuration(
                host: "127.0.0.1", port: 0, limits: .init(maxRunning: 1, maxQueued: 4))
            // A lease a test process running every other suite at once keeps.
            var options = RedisCluster.Options()
            options.lease = .seconds(30)
            configuration.cluster = RedisCluster(
                nodeId: id, host: "127.0.0.1", port: redis.port, store: store, options: options)
            return BacktestServer(configuration: configuration, store: store)
        }
        let a = node("node-a", faults)
        let b = node("node-b", store)
        let (portA, portB) = (try await a.start(), try await b.start())
        let (grpcA, apiA) = LocalClusterTests.client(portA)
        let (grpcB, apiB) = LocalClusterTests.client(portB)
        defer {
            grpcA.close()
            grpcB.close()
        }

        do {
            // A's slot: a session whose data reads wait. B's: a replay at an hour.
            faults.holdReads()
            var held = LocalClusterTests.backtest(n1: 5, symbol: "GOOG")
            held.accelerationFactor = 0
            _ = try await apiA.startBacktest(held)
            let onB = try await apiB.startBacktest(ClusterSessionTests.slow(symbol: "GOOG", 6)).sessionID
            // Both full: the next one waits on A.
            let waiting = try await apiA.startBacktest(ClusterSessionTests.slow(symbol: "GOOG", 7))
            let id = waiting.sessionID
            #expect(await a.registry.localActive().contains { $0.record.id == id && $0.waiting != nil })
            let log = EventLog<ProgressEvent>()
            let watch = ClusterSessionTests.watch(id, apiA, into: log)

            // B frees its slot: A's heartbeat sends the waiting session there.
            _ = try await apiB.stopBacktest(StopBacktestRequest(sessionID: onB, reason: "make room"))
            try await ClusterSessionTests.eventually("the session moved to B") {
                await b.registry.localActive().contains { $0.record.id == id }
            }
            // A lets it go once B's answer is in (B may list it a moment before).
            try await ClusterSessionTests.eventually("A let it go") {
                await !a.registry.localActive().contains { $0.record.id == id }
            }
            try await ClusterSessionTests.eventually("progress from B through A: \(log.events)") {
                log.events.contains { $0.eventsProcessed > 0 }
            }
            let stopped: StopBacktestResponse
            do {
                stopped = try await apiA.stopBacktest(StopBacktestRequest(sessionID: id, reason: "through A"))
            } catch {
                let broker = try RedisConnection(host: "127.0.0.1", port: redis.port)
                var state: [String] = []
                for command in [
                    ["GET", "bt:owner:\(id)"], ["EXISTS", "bt:node:node-a"], ["EXISTS", "bt:node:node-b"],
                    ["SMEMBERS", "bt:owned:node-a"], ["SMEMBERS", "bt:owned:node-b"], ["HKEYS", "bt:active:node-a"],
                    ["HKEYS", "bt:active:node-b"], ["SMEMBERS", "bt:nodes"],
                ] {
                    state.append("\(command.joined(separator: " ")) = \(try broker.command(command))")
                }
                let onBNow = await b.registry.localActive().map { "\($0.record.id) \($0.record.state)" }
                Issue.record("\(error)\nbroker: \(state.joined(separator: "; "))\nB runs: \(onBNow)")
                throw error
            }
            #expect(stopped.status == .stopped && !stopped.alreadyEnded)
            try await watch.value
            let events = log.events
            #expect(events.first?.kind == .snapshot)
            #expect(events.filter { $0.kind == .terminal }.count == 1 && events.last?.kind == .terminal)
            #expect(events.last?.status == .stopped && events.last?.stopReason == "through A")
            let stored = try #require(try await apiB.getSession(GetSessionRequest(sessionID: id)).session)
            #expect(stored.status == .stopped && stored.createdAt == waiting.createdAt)
        } catch {
            // Nothing of this test left running in the test process.
            faults.releaseReads()
            await a.shutdown()
            await b.shutdown()
            throw error
        }
        faults.releaseReads()
        await a.shutdown()
        await b.shutdown()
    }
}
