import Synchronization
import Testing

@testable import RPC

#if canImport(Glibc)
    import Glibc
#endif

/// Non-blocking unary methods run inline (`ServerCallExecutor.runInline`): the same
/// statuses as their calls run as tasks, the interceptors' verdict first, the deadline
/// checked around the handler; only methods that declared themselves non-blocking, and
/// only while every interceptor checks without suspending.
@Suite struct InlineExecutionTests {
    struct NotAMessage: Error {}
    struct Internal: Error {}

    /// What `/t.I/Active` saw: the executor's active calls while it ran.
    static let activeSeen = Atomic<Int>(-1)

    static let executor: ServerCallExecutor = {
        var router = RPCRouter()
        let raw: @Sendable ([UInt8]) throws -> [UInt8] = { $0 }
        let strict: @Sendable ([UInt8]) throws -> [UInt8] = { bytes in
            guard bytes != [0xFF] else { throw NotAMessage() }
            return bytes
        }
        router.nonBlockingUnary("/t.I/Echo", decode: strict, encode: raw) { request, context in
            context.trailers.add("x-seen", "\(request.count)")
            return request
        }
        router.nonBlockingUnary("/t.I/Fail", decode: raw, encode: raw) { _, _ -> [UInt8] in
            throw RPCError(.notFound, "no such thing")
        }
        router.nonBlockingUnary("/t.I/Crash", decode: raw, encode: raw) { _, _ -> [UInt8] in throw Internal() }
        router.nonBlockingUnary("/t.I/Slow", decode: raw, encode: raw) { request, _ in
            usleep(20_000)
            return request
        }
        router.nonBlockingUnary("/t.I/Active", decode: raw, encode: raw) { request, _ in
            activeSeen.store(executor.activeCalls, ordering: .relaxed)
            return request
        }
        router.unary("/t.I/Task", decode: raw, encode: raw) { request, _ in request }
        return ServerCallExecutor(
            router: router, interceptors: [BearerTokenInterceptor(token: "t", exemptPrefixes: ["/t.I/"])])
    }()

    func run(_ path: String, _ request: [UInt8], deadline: ContinuousClock.Instant? = nil)
        -> ServerCallExecutor.InlineResult
    {
        let handler = Self.executor.inlineHandler(for: path)!
        return Self.executor.runInline(
            handler, request: request, context: ServerContext(path: path, deadline: deadline))
    }

    func status(_ result: ServerCallExecutor.InlineResult) -> Status {
        switch result {
        case .response: Status(.ok)
        case .status(let status, _): status
        }
    }

    @Test func onlyNonBlockingMethodsRunInline() {
        #expect(Self.executor.inlineHandler(for: "/t.I/Echo") != nil)
        #expect(Self.executor.inlineHandler(for: "/t.I/Task") == nil)
        #expect(Self.executor.inlineHandler(for: "/t.I/Nope") == nil)
        struct Suspending: ServerInterceptor {
            func intercept(_ context: ServerContext) async throws(RPCError) { await Task.yield() }
        }
        let other = ServerCallExecutor(router: Self.executor.router, interceptors: [Suspending()])
        #expect(other.inlineHandler(for: "/t.I/Echo") == nil, "an interceptor that may suspend needs a task")
    }

    @Test func interceptorsGiveTheirVerdictFirst() {
        let executor = ServerCallExecutor(
            router: Self.executor.router, interceptors: [BearerTokenInterceptor(token: "t", exemptPrefixes: [])])
        guard case .status(let status, _)? = executor.admitInline(ServerContext(path: "/t.I/Echo")) else {
            Issue.record("a call without a token was admitted")
            return
        }
        #expect(status == Status(.unauthenticated, "missing authorization: expected a bearer token"))
        var md = Metadata()
        md.add("authorization", "Bearer t")
        #expect(executor.admitInline(ServerContext(path: "/t.I/Echo", metadata: md)) == nil)
    }

    @Test func statusesAreThoseOfATask() async throws {
        guard case .response(let response, let trailers) = run("/t.I/Echo", [1, 2]) else {
            Issue.record("no response")
            return
        }
        #expect(response == [1, 2] && trailers["x-seen"] == "2")
        let invalid = status(run("/t.I/Echo", [0xFF]))
        #expect(invalid.code == .invalidArgument && invalid.message.hasPrefix("request is not a valid message"))
        #expect(status(run("/t.I/Fail", [])) == Status(.notFound, "no such thing"))
        #expect(status(run("/t.I/Crash", [])) == Status(.unknown, "handler failed"))
        // The same method's calls as tasks (a transport without inline calls) agree.
        let tasks = InProcessTransport(executor: Self.executor)
        #expect(try await tasks.unary("/t.I/Echo", request: [1, 2]) == [1, 2])
        await #expect(throws: RPCError(.notFound, "no such thing")) { try await tasks.unary("/t.I/Fail", request: []) }
        await #expect(throws: RPCError(.unknown, "handler failed")) { try await tasks.unary("/t.I/Crash", request: []) }
    }

    @Test func deadlinesAreCheckedAroundTheHandler() {
        #expect(
            status(run("/t.I/Echo", [1], deadline: .now - .seconds(1)))
                == Status(.deadlineExceeded, "deadline exceeded"))
        // Passed while the handler ran (it sleeps 20 ms).
        #expect(
            status(run("/t.I/Slow", [1], deadline: .now + .milliseconds(1)))
                == Status(.deadlineExceeded, "deadline exceeded"))
        #expect(status(run("/t.I/Slow", [1], deadline: .now + .seconds(3600))) == Status(.ok))
    }

    @Test func aCallRunningInlineIsActive() {
        _ = run("/t.I/Active", [])
        #expect(Self.activeSeen.load(ordering: .relaxed) >= 1)
    }
}
