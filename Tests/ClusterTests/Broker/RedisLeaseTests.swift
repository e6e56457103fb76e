import Foundation
import TestSupport
import Testing

@testable import Cluster

/// Leases against a real redis-server.
@Suite(.enabled(if: RedisServer.unavailable == nil, "\(RedisServer.unavailable ?? "")"))
struct RedisLeaseTests {
    @Test func oneOwnerAtATimeAndOnlyTheOwnerRenewsOrReleases() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(host: "127.0.0.1", port: server.port)
        let a = RedisLease(key: "session:1", owner: "node-a", ttl: .seconds(60))
        let b = RedisLease(key: "session:1", owner: "node-b", ttl: .seconds(60))
        #expect(try a.acquire(on: redis))
        #expect(try !b.acquire(on: redis))
        #expect(try RedisLease.holder(of: "session:1", on: redis) == "node-a")
        #expect(try !b.renew(on: redis))
        #expect(try !b.release(on: redis))
        #expect(try a.renew(on: redis))
        let left = try redis.command(["PTTL", "session:1"]).integer ?? 0
        #expect(left > 50_000 && left <= 60_000)
        #expect(try a.release(on: redis))
        #expect(try RedisLease.holder(of: "session:1", on: redis) == nil)
        #expect(try b.acquire(on: redis))
    }

    /// A holder that stops renewing (a node killed) loses the lease; its late renewal
    /// then fails, and the new holder keeps it.
    @Test func aLapsedLeaseGoesToTheNextOwner() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(host: "127.0.0.1", port: server.port)
        let dead = RedisLease(key: "node:a", owner: "node-a", ttl: .milliseconds(100))
        let next = RedisLease(key: "node:a", owner: "node-b", ttl: .seconds(60))
        #expect(try dead.acquire(on: redis))
        // However slow this machine, the lease lapses: wait for that, not for a time.
        var taken = false
        for _ in 0..<6000 where !taken {
            taken = try next.acquire(on: redis)
            if !taken { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(taken)
        #expect(try !dead.renew(on: redis))
        #expect(try !dead.release(on: redis))
        #expect(try RedisLease.holder(of: "node:a", on: redis) == "node-b")
    }
}
