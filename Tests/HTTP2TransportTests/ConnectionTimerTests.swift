import RPC
import Testing

@testable import HTTP2Transport

#if canImport(Glibc)
    import Glibc
#endif

/// A connection's clocks (handshake timeout, idle check, keepalive) end with it.
/// Found by fuzzing (tools/fuzz, fuzz-h2): they were `asyncAfter`s that outlived the
/// connection, each holding a timer and the connection until it fired,
/// the keepalive's two hours later, so a server's memory grew with every connection it
/// had served in that time (three timers and a queue each, in ASan's heap profile).
@Suite struct ConnectionTimerTests {
    @Test func aClosedConnectionHasNoClocksLeft() async throws {
        var fds: [Int32] = [-1, -1]
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        try #require(socketpair(AF_UNIX, type, 0, &fds) == 0)
        let (closed, done) = AsyncStream<Void>.makeStream()
        let connection = H2ServerConnection(
            io: PlainStream(fd: fds[0]), peer: "test", executor: ServerCallExecutor(router: RPCRouter()),
            limits: .init(), sendSlots: SendSlots(count: 2)
        ) { _ in done.finish() }
        connection.start()
        // Handshake timeout, idle check and keepalive, by default.
        #expect(await pendingTimers(connection) == 3)
        // The client goes away: the server reads EOF and closes.
        close(fds[1])
        for await _ in closed {}
        #expect(await pendingTimers(connection) == 0)
    }

    func pendingTimers(_ connection: H2ServerConnection) async -> Int {
        await withCheckedContinuation { c in
            connection.loop.execute { c.resume(returning: connection.pendingTimerCount) }
        }
    }
}
