import Foundation
import TestSupport
import Testing

@testable import Cluster

/// The node's lease renewed on the keeper's own thread, against a real redis-server:
/// held while it runs, found lapsed once it is not this process's, the broker's absence
/// told apart from a lapse. Conditions are waited for, never times.
@Suite(.enabled(if: RedisServer.unavailable == nil, "\(RedisServer.unavailable ?? "")"))
struct LeaseKeeperTests {
    /// Waits (two minutes at most: a busy machine) for `condition`.
    static func eventually(_ what: String, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if try condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test func renewsFindsALapseAndTellsAnAbsentBrokerApart() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(host: "127.0.0.1", port: server.port)
        let lease = RedisLease(key: "bt:node:a", owner: "process-1", ttl: .seconds(3))
        #expect(try lease.acquire(on: redis))
        let keeper = LeaseKeeper(host: "127.0.0.1", port: server.port, lease: lease, every: .milliseconds(100))
        keeper.start()
        defer { keeper.stop() }

        // Renewed again and again: the time to live goes back up each time.
        var last = try redis.command(["PTTL", lease.key]).integer ?? 0
        var renewals = 0
        try await Self.eventually("three renewals") {
            let now = try redis.command(["PTTL", lease.key]).integer ?? 0
            if now > last { renewals += 1 }
            last = now
            return renewals >= 3
        }
        #expect(keeper.finding.0 == .held)

        // Taken by another process (this one was taken for lost): a lapse, not renewed.
        try redis.command(["SET", lease.key, "process-2", "PX", "60000"])
        try await Self.eventually("the lapse found") { keeper.finding.0 == .lapsed }
        #expect(try RedisLease.holder(of: lease.key, on: redis) == "process-2")

        // The broker gone: unreachable, which is not a lapse.
        server.kill()
        try await Self.eventually("the broker's absence found") {
            if case .unreachable = keeper.finding.0 { true } else { false }
        }

        // Back, empty: lapsed; taken again (as `register` does), held from then on.
        try await server.restart()
        try await Self.eventually("the lapse after the restart found") { keeper.finding.0 == .lapsed }
        let again = try RedisConnection(host: "127.0.0.1", port: server.port)
        #expect(try lease.acquire(on: again))
        keeper.registered()
        let registeredAt = keeper.finding.confirmedAt
        try await Self.eventually("renewed after the registration") {
            keeper.finding.0 == .held && keeper.finding.confirmedAt > registeredAt
        }

        // Stopped: renewed no more, the lease lapses.
        keeper.stop()
        try await Self.eventually("the lease gone") { try RedisLease.holder(of: lease.key, on: again) == nil }
    }
}
