import Foundation
import RPC
import Synchronization
import Testing

@testable import HTTP2Transport

#if canImport(Glibc)
    import Glibc
#endif

/// Non-blocking unary methods, answered on the event loop that read the call (no
/// task): the same statuses, deadlines, auth and cancellation as a call run as a task,
/// over every protocol; and a method that may block never runs on a loop.
@Suite(.serialized) struct InlineCallTests {
    /// The name of the thread running the caller: `h2-loop-N` on an event loop.
    static func threadName() -> String {
        let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
        return comm.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs of `/test.Inline/Counted`'s handler.
    static let counted = Atomic<Int>(0)

    struct NotAMessage: Error {}
    struct Internal: Error {}

    static func router() -> RPCRouter {
        var router = RPCRouter()
        let raw: @Sendable ([UInt8]) throws -> [UInt8] = { $0 }
        router.nonBlockingUnary("/test.Inline/Thread", decode: raw, encode: raw) { _, _ in Array(threadName().utf8) }
        router.unary("/test.Inline/TaskThread", decode: raw, encode: raw) { _, _ in Array(threadName().utf8) }
        router.nonBlockingUnary("/test.Inline/Echo", decode: raw, encode: raw) { request, context in
            for b in context.metadata.binaryValues("x-trace-bin") { context.trailers.add("x-trace-bin", binary: b) }
            return request
        }
        // JSON both ways (Connect's json codec): the request's bytes as they are, the
        // response as {"echo":"..."}.
        router.setJSON(
            "/test.Inline/Echo",
            MessageTranscoder(
                request: { $0 },
                response: { Array(#"{"echo":"\#(String(decoding: $0, as: UTF8.self))"}"#.utf8) }))
        router.nonBlockingUnary("/test.Inline/Counted", decode: raw, encode: raw) { request, _ in
            counted.add(1, ordering: .relaxed)
            return request
        }
        let strict: @Sendable ([UInt8]) throws -> [UInt8] = { bytes in
            guard bytes != Array("bad".utf8) else { throw NotAMessage() }
            return bytes
        }
        router.nonBlockingUnary("/test.Inline/Strict", decode: strict, encode: raw) { request, _ in request }
        router.nonBlockingUnary("/test.Inline/Fail", decode: raw, encode: raw) { _, _ -> [UInt8] in
            throw RPCError(.notFound, "nöt found: 100% gone")
        }
        router.nonBlockingUnary("/test.Inline/Crash", decode: raw, encode: raw) { _, _ -> [UInt8] in throw Internal() }
        // Holds its loop for 50 ms (what a real non-blocking handler must never do): a
        // deadline of 10 ms always passes while it runs.
        router.nonBlockingUnary("/test.Inline/Slow", decode: raw, encode: raw) { request, _ in
            usleep(50_000)
            return request
        }
        return router
    }

    static func start(interceptors: [any ServerInterceptor] = []) -> (GRPCServer, GRPCClient) {
        var configuration = GRPCServer.Configuration()
        // Its clock would fire during a slow run and change the count of timers.
        configuration.limits.handshakeTimeout = .seconds(3600)
        let server = GRPCServer(
            configuration: configuration, executor: ServerCallExecutor(router: router(), interceptors: interceptors))
        let port = try! server.start()
        return (server, GRPCClient(configuration: .init(port: port)))
    }

    static let plain = start()
    static let withToken = start(interceptors: [BearerTokenInterceptor(token: "s3cret", exemptPrefixes: [])])

    func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The call's status, or its response (OK).
    func call(
        _ client: GRPCClient, _ path: String, _ request: [UInt8] = [], metadata: Metadata = Metadata()
    ) async -> Result<[UInt8], RPCError> {
        do {
            return .success(try await client.unary(path, request: request, metadata: metadata).response)
        } catch let error as RPCError {
            return .failure(error)
        } catch {
            return .failure(RPCError(.unknown, "\(error)"))
        }
    }

    @Test(arguments: [false, true]) func runsOnTheLoopOverEveryProtocol(http1: Bool) async throws {
        let (server, client) = Self.plain
        if !http1 {
            let grpc = try await call(client, "/test.Inline/Thread").get()
            #expect(text(grpc).hasPrefix("h2-loop-"), "gRPC ran on \(text(grpc))")
        }
        let port = try server.boundPort()
        let web = try await CurlPost.post(
            port: port, "/test.Inline/Thread", headers: ["content-type: application/grpc-web+proto"],
            body: MessageFramer.frame([]), http1: http1)
        let envelopes = CurlPost.envelopes(web.body)
        let (message, trailers) = (envelopes.first?.1 ?? [], envelopes.last?.1 ?? [])
        #expect(text(message).hasPrefix("h2-loop-"), "gRPC-Web: \(web.headers)")
        #expect(trailers == Array("grpc-status: 0\r\n".utf8))
        let connect = try await CurlPost.post(
            port: port, "/test.Inline/Thread", headers: ["content-type: application/proto"], body: [], http1: http1)
        #expect(CurlPost.status(connect.headers) == 200 && text(connect.body).hasPrefix("h2-loop-"))
        let json = try await CurlPost.post(
            port: port, "/test.Inline/Echo", headers: ["content-type: application/json"], body: Array("hi".utf8),
            http1: http1)
        #expect(text(json.body) == #"{"echo":"hi"}"#, "\(json.headers)")
        let failed = try await CurlPost.post(
            port: port, "/test.Inline/Fail", headers: ["content-type: application/proto"], body: [], http1: http1)
        #expect(CurlPost.status(failed.headers) == 404)
        #expect(text(failed.body) == #"{"code":"not_found","message":"nöt found: 100% gone"}"#)
    }

    /// Methods registered with `unary` may block: they run as tasks, never on a loop,
    /// and so does every call when an interceptor may suspend.
    @Test func aMethodThatMayBlockNeverRunsOnTheLoop() async throws {
        let (_, client) = Self.plain
        let name = text(try await call(client, "/test.Inline/TaskThread").get())
        #expect(!name.hasPrefix("h2-loop-") && !name.isEmpty, "ran on \(name)")

        struct Suspending: ServerInterceptor {
            func intercept(_ context: ServerContext) async throws(RPCError) {
                await Task.yield()
                if context.metadata["x-deny"] != nil { throw RPCError(.permissionDenied, "denied") }
            }
        }
        let (server, other) = Self.start(interceptors: [Suspending()])
        #expect(server.executor.inlineHandler(for: "/test.Inline/Thread") == nil)
        let asTask = text(try await call(other, "/test.Inline/Thread").get())
        #expect(!asTask.hasPrefix("h2-loop-"), "ran on \(asTask)")
        var deny = Metadata()
        deny.add("x-deny", "1")
        #expect(
            await call(other, "/test.Inline/Thread", metadata: deny) == .failure(RPCError(.permissionDenied, "denied")))
        other.close()
        await server.shutdown(grace: .milliseconds(100))
    }

    @Test func authIsCheckedBeforeTheHandler() async throws {
        let (server, client) = Self.withToken
        let before = Self.counted.load(ordering: .relaxed)
        #expect(
            await call(client, "/test.Inline/Counted", [1])
                == .failure(RPCError(.unauthenticated, "missing authorization: expected a bearer token")))
        var wrong = Metadata()
        wrong.add("authorization", "Bearer nope")
        #expect(
            await call(client, "/test.Inline/Counted", [1], metadata: wrong)
                == .failure(RPCError(.unauthenticated, "invalid bearer token")))
        #expect(Self.counted.load(ordering: .relaxed) == before, "the handler ran without a valid token")
        var right = Metadata()
        right.add("authorization", "Bearer s3cret")
        #expect(await call(client, "/test.Inline/Counted", [1], metadata: right) == .success([1]))
        let connect = try await CurlPost.post(
            port: try server.boundPort(), "/test.Inline/Echo", headers: ["content-type: application/proto"], body: [])
        #expect(CurlPost.status(connect.headers) == 401, "\(connect.headers)")
    }

    @Test func badRequestsAndHandlerErrorsGetTheirStatuses() async throws {
        let (_, client) = Self.plain
        guard case .failure(let invalid) = await call(client, "/test.Inline/Strict", Array("bad".utf8)) else {
            Issue.record("a request that does not decode was answered")
            return
        }
        #expect(invalid.code == .invalidArgument && invalid.message.hasPrefix("request is not a valid message"))
        #expect(await call(client, "/test.Inline/Strict", Array("good".utf8)) == .success(Array("good".utf8)))
        #expect(await call(client, "/test.Inline/Fail") == .failure(RPCError(.notFound, "nöt found: 100% gone")))
        #expect(await call(client, "/test.Inline/Crash") == .failure(RPCError(.unknown, "handler failed")))

        let two = try await client.start("/test.Inline/Echo")
        try await two.send([1])
        try await two.send([2])
        two.closeSend()
        #expect(await two.result().status == RPCRouter.extraRequest.status)
        let none = try await client.start("/test.Inline/Echo")
        none.closeSend()
        #expect(await none.result().status == RPCRouter.noRequest.status)

        var traced = Metadata()
        traced.add("x-trace-bin", binary: [0, 1, 0xFE])
        let (response, trailers) = try await client.unary("/test.Inline/Echo", request: [7], metadata: traced)
        #expect(response == [7] && trailers.binaryValues("x-trace-bin") == [[0, 1, 0xFE]])
        let gzip = GRPCClient(configuration: .init(port: try Self.plain.0.boundPort(), gzipRequests: true))
        defer { gzip.close() }
        #expect(
            await call(gzip, "/test.Inline/Echo", Array(repeating: 9, count: 1000))
                == .success(Array(repeating: 9, count: 1000)))
    }

    /// The server's deadline (a `grpc-timeout` header the client does not enforce
    /// itself): while the request is awaited, and around the handler.
    @Test func deadlinesEndTheCall() async throws {
        let (_, client) = Self.plain
        func timeout(_ value: String) -> Metadata {
            var md = Metadata()
            md.add("grpc-timeout", value)
            return md
        }
        let held = try await client.start("/test.Inline/Counted", metadata: timeout("100m"))
        #expect(await held.result().status == Status(.deadlineExceeded, "deadline exceeded"))
        let before = Self.counted.load(ordering: .relaxed)
        let expired = await call(client, "/test.Inline/Counted", [1], metadata: timeout("1n"))
        #expect(expired == .failure(RPCError(.deadlineExceeded, "deadline exceeded")))
        #expect(Self.counted.load(ordering: .relaxed) == before, "ran past its deadline")
        let slow = await call(client, "/test.Inline/Slow", [1], metadata: timeout("10m"))
        #expect(slow == .failure(RPCError(.deadlineExceeded, "deadline exceeded")))
        #expect(await call(client, "/test.Inline/Slow", [1], metadata: timeout("1H")) == .success([1]))
        try await waitForIdle(Self.plain.0)
    }

    /// A client that resets its call before the request is whole: the handler never
    /// runs, and the stream and its deadline timer are gone.
    @Test func aResetCallNeverRuns() async throws {
        // A server of its own: no other connection's timers come and go meanwhile.
        let (server, client) = Self.start()
        defer { client.close() }
        _ = try await call(client, "/test.Inline/Echo").get()  // the connection is up
        try await waitForIdle(server)
        let timers = await server.pendingTimerCount()
        let before = Self.counted.load(ordering: .relaxed)
        var md = Metadata()
        md.add("grpc-timeout", "1H")
        let call = try await client.start("/test.Inline/Counted", metadata: md)
        try await call.send([1])  // the message, but not the end of the request
        let deadline = ContinuousClock.now + .seconds(10)
        while await server.openStreamCount() == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(await server.pendingTimerCount() == timers + 1, "the call's deadline is a timer")
        call.cancel()
        try await waitForIdle(server)
        #expect(await server.pendingTimerCount() == timers)
        #expect(Self.counted.load(ordering: .relaxed) == before)
        #expect(await self.call(client, "/test.Inline/Counted", [2]) == .success([2]))
        await server.shutdown(grace: .milliseconds(100))
    }

    func waitForIdle(_ server: GRPCServer) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if server.executor.activeCalls == 0, await server.openStreamCount() == 0 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(server.executor.activeCalls == 0)
        #expect(await server.openStreamCount() == 0)
    }
}
