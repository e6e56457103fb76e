import Testing

@testable import RPC

/// The RPC layer's semantics, through the in-process transport: no sockets.
@Suite struct InProcessTransportTests {
    static let transport: InProcessTransport = {
        var router = RPCRouter()
        let raw: @Sendable ([UInt8]) throws -> [UInt8] = { $0 }
        router.unary("/t.S/Echo", decode: raw, encode: raw) { r, _ in r }
        router.unary("/t.S/Sleep", decode: raw, encode: raw) { _, _ in
            try await Task.sleep(for: .seconds(3600))
            return []
        }
        router.unary("/t.S/Fail", decode: raw, encode: raw) { _, _ -> [UInt8] in
            throw RPCError(.notFound, "no such thing")
        }
        router.unary("/t.S/Crash", decode: raw, encode: raw) { _, _ -> [UInt8] in
            struct Internal: Error {}
            throw Internal()
        }
        router.serverStreaming("/t.S/Count", decode: raw, encode: raw) { r, w, _ in
            for i in 0..<Int(r[0]) { try await w.write([UInt8(i)]) }
        }
        router.clientStreaming("/t.S/Sum", decode: raw, encode: raw) { requests, _ in
            var sum = 0
            for try await m in requests { sum += Int(m[0]) }
            return [UInt8(sum)]
        }
        return InProcessTransport(
            executor: ServerCallExecutor(
                router: router, interceptors: [BearerTokenInterceptor(token: "t", exemptPrefixes: ["/t.S/"])]))
    }()

    @Test func unaryAndErrors() async throws {
        #expect(try await Self.transport.unary("/t.S/Echo", request: [1, 2]) == [1, 2])
        await #expect(throws: RPCError(.notFound, "no such thing")) {
            try await Self.transport.unary("/t.S/Fail", request: [])
        }
        // An untyped error's text stays on the server.
        await #expect(throws: RPCError(.unknown, "handler failed")) {
            try await Self.transport.unary("/t.S/Crash", request: [])
        }
        await #expect(throws: RPCError(.unimplemented, "unknown method /t.S/Nope")) {
            try await Self.transport.unary("/t.S/Nope", request: [])
        }
    }

    @Test func unaryNeedsExactlyOneRequest() async {
        let none = Self.transport.start("/t.S/Echo")
        none.closeSend()
        #expect(await none.result().status.code == .internal)
        let two = Self.transport.start("/t.S/Echo")
        two.send([1])
        two.send([2])
        two.closeSend()
        #expect(
            await two.result().status == Status(.internal, "more than one request message for a method that takes one"))
    }

    @Test func streamingBothWays() async throws {
        let count = Self.transport.start("/t.S/Count")
        count.send([5])
        count.closeSend()
        var got: [UInt8] = []
        while let m = try await count.responses.next() { got += m }
        #expect(got == [0, 1, 2, 3, 4])
        let sum = Self.transport.start("/t.S/Sum")
        for i in 1...10 { sum.send([UInt8(i)]) }
        sum.closeSend()
        #expect(try await sum.responses.next() == [55])
        #expect(await sum.result().status == .ok)
    }

    @Test func deadlineAndCancellation() async {
        let start = ContinuousClock.now
        await #expect(throws: RPCError(.deadlineExceeded, "deadline exceeded")) {
            try await Self.transport.unary("/t.S/Sleep", request: [], timeout: .milliseconds(50))
        }
        // The handler sleeps an hour: ending well before proves the deadline cut it. The
        // bound is loose because the whole suite runs at once on two cores.
        #expect(ContinuousClock.now - start < .seconds(30))
        let call = Self.transport.start("/t.S/Sleep")
        call.send([])
        call.closeSend()
        call.cancel()
        #expect(await call.result().status.code == .cancelled)
    }

    /// A call is active from its start, not from when its task first runs: a busy pool
    /// may run it after the client has gone, and a shutdown or an idle check in
    /// between must still see it.
    @Test func aCallIsActiveFromItsStart() async {
        var router = RPCRouter()
        router.unary("/t.S/Echo", decode: { $0 }, encode: { $0 }) { (r: [UInt8], _) in r }
        let executor = ServerCallExecutor(router: router)
        let call = InProcessTransport(executor: executor).start("/t.S/Echo")
        #expect(executor.activeCalls == 1)
        call.cancel()
        #expect(await call.result().status.code == .cancelled)
        await executor.calls.waitUntilZero()
    }
}
