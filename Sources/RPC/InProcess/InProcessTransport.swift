import Synchronization

/// Calls a `ServerCallExecutor` directly, with no sockets or HTTP/2: for fast tests
/// of handlers with the same semantics (router, interceptors, deadlines, statuses)
/// as over the network.
public struct InProcessTransport: ClientTransport {
    public let executor: ServerCallExecutor

    public init(executor: ServerCallExecutor) {
        self.executor = executor
    }

    /// Starts a call: send requests, `closeSend`, read `responses`, await `result`.
    public func start(_ path: String, metadata: Metadata = Metadata(), timeout: Duration? = nil) -> InProcessCall {
        let call = InProcessCall()
        let context = ServerContext(
            path: path, metadata: metadata, deadline: timeout.map { .now + $0 }, peer: "in-process")
        call.task.withLock {
            $0 = executor.start(context: context, requests: call.requests, outbound: call.outbound)
        }
        return call
    }

    public func startCall(_ path: String, metadata: Metadata, timeout: Duration?) async throws -> any ClientStream {
        start(path, metadata: metadata, timeout: timeout)
    }

    /// Nothing to release: calls end with their handlers.
    public func close() {}

    /// A unary call; a non-OK status throws RPCError.
    public func unary(_ path: String, request: [UInt8], metadata: Metadata = Metadata(), timeout: Duration? = nil)
        async throws -> [UInt8]
    {
        try await RPCClient(transport: self, metadata: metadata, timeout: timeout).unary(path, request: request)
            .response
    }
}

/// One in-process call.
public final class InProcessCall: ClientStream {
    let requests = RequestStream()
    /// The handler's response messages.
    public let responses = RequestStream()
    fileprivate let outbound: Outbound
    fileprivate let task = Mutex<Task<Void, Never>?>(nil)

    init() {
        outbound = Outbound(responses: responses)
    }

    public func send(_ message: [UInt8]) { requests.yield(message) }
    public func closeSend() { requests.finish() }
    /// Cancels the handler, as a client's RST_STREAM would.
    public func cancel() { task.withLock { $0?.cancel() } }

    public func result() async -> (status: Status, trailers: Metadata) {
        await outbound.result()
    }

    final class Outbound: ServerCallOutbound {
        let responses: RequestStream
        private let state = Mutex<((Status, Metadata)?, [CheckedContinuation<(Status, Metadata), Never>])>((nil, []))

        init(responses: RequestStream) { self.responses = responses }

        func send(_ message: [UInt8]) async throws {
            guard state.withLock({ $0.0 == nil }) else { throw RPCError(.cancelled, "the call has ended") }
            responses.yield(message)
        }

        func finish(_ status: Status, trailers: Metadata) async {
            let waiters: [CheckedContinuation<(Status, Metadata), Never>]? = state.withLock { s in
                guard s.0 == nil else { return nil }
                s.0 = (status, trailers)
                defer { s.1 = [] }
                return s.1
            }
            guard let waiters else { return }
            responses.finish()
            for w in waiters { w.resume(returning: (status, trailers)) }
        }

        func result() async -> (Status, Metadata) {
            await withCheckedContinuation { (c: CheckedContinuation<(Status, Metadata), Never>) in
                let done = state.withLock { s -> (Status, Metadata)? in
                    if let r = s.0 { return r }
                    s.1.append(c)
                    return nil
                }
                if let done { c.resume(returning: done) }
            }
        }
    }
}
