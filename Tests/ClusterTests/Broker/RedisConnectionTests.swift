import Foundation
import TestSupport
import Testing

@testable import Cluster

/// The Redis wrapper against a real redis-server.
@Suite(.enabled(if: RedisServer.unavailable == nil, "\(RedisServer.unavailable ?? "")"))
struct RedisConnectionTests {
    @Test func commandsRoundTripAnyBytes() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(host: "127.0.0.1", port: server.port)
        #expect(try redis.command(["PING"]) == .status("PONG"))
        // Values are bytes with their lengths: NUL, CR LF and non-UTF-8 bytes survive.
        let value: [UInt8] = [0, 13, 10, 255, 36, 42, 0]
        #expect(try redis.command([Array("SET".utf8), Array("k\r\n1".utf8), value]) == .status("OK"))
        #expect(try redis.command([Array("GET".utf8), Array("k\r\n1".utf8)]) == .bulk(value))
        #expect(try redis.command(["GET", "missing"]) == .null)
        #expect(try redis.command(["INCRBY", "n", "41"]).integer == 41)
        #expect(try redis.command(["RPUSH", "list", "a", "", "c"]).integer == 3)
        #expect(
            try redis.command(["LRANGE", "list", "0", "-1"])
                == .array([.bulk(Array("a".utf8)), .bulk([]), .bulk(Array("c".utf8))]))
        // A lease: taken once, refused while held.
        #expect(try redis.command(["SET", "lease", "node-a", "NX", "PX", "60000"]) == .status("OK"))
        #expect(try redis.command(["SET", "lease", "node-b", "NX", "PX", "60000"]) == .null)
    }

    @Test func anErrorReplyThrowsAndLeavesTheConnectionUsable() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(host: "127.0.0.1", port: server.port)
        try redis.command(["SET", "s", "text"])
        #expect {
            try redis.command(["LPUSH", "s", "x"])
        } throws: { error in
            guard case RedisError.reply(let message) = error else { return false }
            return message.hasPrefix("WRONGTYPE")
        }
        #expect(!redis.isBroken)
        #expect(try redis.command(["GET", "s"]).text == "text")
    }

    @Test func aPipelineAnswersInOrderWithErrorsInPlace() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(host: "127.0.0.1", port: server.port)
        let replies = try redis.pipeline([["SET", "a", "1"], ["INCR", "a"], ["HGET", "a", "f"], ["GET", "a"]])
        #expect(replies.count == 4)
        #expect(replies[0] == .status("OK"))
        #expect(replies[1] == .integer(2))
        guard case .error(let message) = replies[2] else {
            Issue.record("expected an error reply, got \(replies[2])")
            return
        }
        #expect(message.hasPrefix("WRONGTYPE"))
        #expect(replies[3].text == "2")
    }

    @Test func aSubscriberWaitsAndReceives() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let subscriber = try RedisConnection(host: "127.0.0.1", port: server.port)
        let publisher = try RedisConnection(host: "127.0.0.1", port: server.port)
        let confirmation = try subscriber.command(["SUBSCRIBE", "progress"]).array
        #expect(confirmation?.first?.text == "subscribe")
        // Nothing published: the wait ends empty and the connection stays good.
        #expect(try subscriber.nextPush(timeout: .milliseconds(50)) == nil)
        #expect(!subscriber.isBroken)
        #expect(try publisher.command(["PUBLISH", "progress", "event 1"]).integer == 1)
        #expect(try publisher.command(["PUBLISH", "progress", "event 2"]).integer == 1)
        var received: [String] = []
        while received.count < 2, let push = try subscriber.nextPush(timeout: .seconds(30)) {
            let parts = push.array ?? []
            #expect(parts.first?.text == "message" && parts.dropFirst().first?.text == "progress")
            if let payload = parts.last?.text { received.append(payload) }
        }
        #expect(received == ["event 1", "event 2"])
    }

    @Test func aServerGoneIsAnIOErrorNamingIt() async throws {
        let server = try await RedisServer()
        defer { server.stop() }
        let redis = try RedisConnection(host: "127.0.0.1", port: server.port)
        try redis.command(["SET", "k", "v"])
        server.kill()
        #expect {
            try redis.command(["GET", "k"])
        } throws: { error in
            guard case RedisError.io(let address, _) = error else { return false }
            return address == "127.0.0.1:\(server.port)"
        }
        #expect(redis.isBroken)
        // Refused: nothing listens there any more.
        #expect {
            _ = try RedisConnection(host: "127.0.0.1", port: server.port, timeout: .seconds(5))
        } throws: { error in
            guard case RedisError.io(_, let message) = error else { return false }
            return message.lowercased().contains("refused")
        }
        // Back, empty: a new connection works.
        try await server.restart()
        let again = try RedisConnection(host: "127.0.0.1", port: server.port)
        #expect(try again.command(["GET", "k"]) == .null)
    }
}
