import Dispatch
import Synchronization

/// Runs one call: finds its handler, applies interceptors and the deadline, maps
/// what the handler throws to a status and always finishes the call exactly once.
public final class ServerCallExecutor: Sendable {
    public let router: RPCRouter
    public let interceptors: [any ServerInterceptor]
    /// Calls running now; a shutdown waits on it.
    public let calls = ActivityCounter()

    /// The interceptors, when every one checks without suspending: non-blocking methods
    /// may then run inline; nil sends every call through `start` (a task).
    private let synchronousInterceptors: [any SynchronousServerInterceptor]?

    public init(router: RPCRouter, interceptors: [any ServerInterceptor] = []) {
        self.router = router
        self.interceptors = interceptors
        let synchronous = interceptors.compactMap { $0 as? any SynchronousServerInterceptor }
        synchronousInterceptors = synchronous.count == interceptors.count ? synchronous : nil
    }

    /// Calls running now; returns to zero when every call has finished.
    public var activeCalls: Int { calls.count }

    /// Starts a call: a task at its method's priority, counted in `activeCalls` from
    /// now, not from when the task first runs. On a busy pool that can be much later,
    /// after the client has gone; a shutdown or an idle check in between must still
    /// see the call.
    public func start(context: ServerContext, requests: RequestStream, outbound: any ServerCallOutbound)
        -> Task<Void, Never>
    {
        calls.enter()
        return Task(priority: router.methods[context.path]?.priority) {
            defer { calls.leave() }
            await execute(context: context, requests: requests, outbound: outbound)
        }
    }

    private func execute(context: ServerContext, requests: RequestStream, outbound: any ServerCallOutbound) async {
        guard let method = router.methods[context.path] else {
            requests.finish(RPCError(.unimplemented, "unknown method"))
            await outbound.finish(Status(.unimplemented, "unknown method \(context.path)"), trailers: Metadata())
            return
        }
        do {
            for interceptor in interceptors {
                try await interceptor.intercept(context)
            }
            let last: [UInt8]?
            if let deadline = context.deadline {
                last = try await Self.withDeadline(deadline) {
                    try await method.run(requests, outbound, context)
                }
            } else {
                last = try await method.run(requests, outbound, context)
            }
            if let last {
                try await outbound.finish(sending: last, trailers: context.trailers.current)
            } else {
                await outbound.finish(.ok, trailers: context.trailers.current)
            }
        } catch {
            let (status, trailers) = Self.ending(error, deadline: context.deadline)
            await outbound.finish(status, trailers: trailers)
        }
        requests.finish(RPCError(.cancelled, "call ended"))
    }

    /// The status a call ends with when its handler (or an interceptor) throws `error`.
    static func ending(_ error: any Error, deadline: ContinuousClock.Instant?) -> (Status, Metadata) {
        switch error {
        case let error as RPCError:
            return (error.status, error.metadata)
        case is CancellationError:
            if let deadline, ContinuousClock.now >= deadline { return (deadlineExceeded.status, Metadata()) }
            return (Status(.cancelled, "call cancelled"), Metadata())
        default:
            // The handler's own error text may hold internals; the client gets UNKNOWN.
            return (Status(.unknown, "handler failed"), Metadata())
        }
    }

    /// What a call whose deadline passed ends with.
    public static let deadlineExceeded = RPCError(.deadlineExceeded, "deadline exceeded")

    // MARK: Inline calls

    /// How an inline call ends: its response message and trailers (OK), or a status.
    public enum InlineResult: Sendable {
        case response([UInt8], trailers: Metadata)
        case status(Status, Metadata)
    }

    /// The handler of `path` when its calls may run inline, on the thread that read the
    /// request: the method declared itself non-blocking (`RPCRouter.nonBlockingUnary`)
    /// and every interceptor checks without suspending. Nil: the call goes to `start`.
    public func inlineHandler(for path: String) -> RPCRouter.InlineHandler? {
        guard synchronousInterceptors != nil else { return nil }
        return router.methods[path]?.inline
    }

    /// The interceptors' verdict on an inline call, when it starts (as `execute`
    /// applies them before reading the request): nil lets it go on.
    public func admitInline(_ context: ServerContext) -> InlineResult? {
        guard let interceptors = synchronousInterceptors else { return nil }
        do throws(RPCError) {
            for interceptor in interceptors { try interceptor.check(context) }
            return nil
        } catch {
            return .status(error.status, error.metadata)
        }
    }

    /// Runs an inline call's handler on its request, admitted by `admitInline`. The
    /// deadline is checked before and after: a synchronous handler cannot be cancelled
    /// half-way, and one that finishes past its deadline answers DEADLINE_EXCEEDED as
    /// a cancelled task would. Counted in `activeCalls` while it runs.
    public func runInline(_ handler: RPCRouter.InlineHandler, request: [UInt8], context: ServerContext)
        -> InlineResult
    {
        if let deadline = context.deadline, ContinuousClock.now >= deadline {
            return .status(Self.deadlineExceeded.status, Metadata())
        }
        calls.enter()
        defer { calls.leave() }
        do {
            let response = try handler(request, context)
            if let deadline = context.deadline, ContinuousClock.now >= deadline {
                return .status(Self.deadlineExceeded.status, Metadata())
            }
            return .response(response, trailers: context.trailers.current)
        } catch {
            let (status, trailers) = Self.ending(error, deadline: context.deadline)
            return .status(status, trailers)
        }
    }

    /// Runs `body`, cancelling it when the deadline passes. The clock is a Dispatch
    /// timer cancelled as soon as the call ends: a cancelled `Task.sleep` keeps its
    /// task and timer until the deadline on Linux, so a sleeping child held memory for
    /// every call made within the last deadline's span (0.7 KB a call, found by the
    /// soak with 600 s deadlines).
    static func withDeadline<T: Sendable>(
        _ deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let work = Task { try await body() }
        let expired = Mutex(false)
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.setEventHandler {
            expired.withLock { $0 = true }
            work.cancel()
        }
        let (seconds, attoseconds) = max(.zero, deadline - .now).components
        timer.schedule(
            deadline: .now() + .nanoseconds(Int(clamping: seconds * 1_000_000_000 + attoseconds / 1_000_000_000)))
        timer.resume()
        defer { timer.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await work.value
            } onCancel: {
                work.cancel()
            }
        } catch {
            if expired.withLock({ $0 }) { throw Self.deadlineExceeded }
            throw error
        }
    }
}
