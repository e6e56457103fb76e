import Synchronization

/// What a handler knows about its call.
public struct ServerContext: Sendable {
    /// Trailing metadata the handler adds; sent with the final status.
    public final class Trailers: Sendable {
        private let metadata = Mutex(Metadata())
        public init() {}
        public func add(_ key: String, _ value: String) { metadata.withLock { $0.add(key, value) } }
        public func add(_ key: String, binary: [UInt8]) { metadata.withLock { $0.add(key, binary: binary) } }
        public var current: Metadata { metadata.withLock { $0 } }
    }

    /// Trailers to send when the call ends.
    public let trailers = Trailers()
    /// `/package.Service/Method`.
    public var path: String
    /// The client's metadata (custom headers, `-bin` values decoded).
    public var metadata: Metadata
    /// When the client stops waiting (`grpc-timeout`); the handler is cancelled then.
    public var deadline: ContinuousClock.Instant?
    /// The client's address, for logs.
    public var peer: String

    public init(
        path: String, metadata: Metadata = Metadata(), deadline: ContinuousClock.Instant? = nil, peer: String = ""
    ) {
        self.path = path
        self.metadata = metadata
        self.deadline = deadline
        self.peer = peer
    }
}

/// The transport's side of one call's response, as the RPC layer uses it.
public protocol ServerCallOutbound: Sendable {
    /// Sends one response message (unframed; the transport frames it). Suspends while
    /// the stream's send queue is full; throws when the call is gone.
    func send(_ message: [UInt8]) async throws
    /// Suspends until the transport can take the call's next message within its
    /// bounds (the stream's and the connection's send buffers, and the server's
    /// share of producers), and keeps that room for the next `send`, which then does
    /// not wait. Handlers that build large messages (from a store) call it before
    /// building each one: a client that does not read then holds a suspended
    /// handler, not buffered messages. Throws when the call is gone.
    func awaitCapacity() async throws
    /// Ends the call: trailers with the status (or a trailers-only response when
    /// nothing was sent yet). Idempotent.
    func finish(_ status: Status, trailers: Metadata) async
    /// Sends the call's last message and ends it OK, as one step: a unary answer
    /// leaves in one hand-off to the transport instead of two (the handler does not
    /// wait for room: nothing follows it). Throws, having sent nothing, when the
    /// message cannot be encoded or the call is gone.
    func finish(sending message: [UInt8], trailers: Metadata) async throws
}

extension ServerCallOutbound {
    /// Transports without send buffers of their own have nothing to wait for.
    public func awaitCapacity() async throws {}

    public func finish(sending message: [UInt8], trailers: Metadata) async throws {
        try await send(message)
        await finish(.ok, trailers: trailers)
    }
}

/// Runs before every handler; throwing an RPCError ends the call with it (auth).
public protocol ServerInterceptor: Sendable {
    func intercept(_ context: ServerContext) async throws(RPCError)
}

/// An interceptor whose check never suspends (it reads the call's metadata). When
/// every interceptor is one, calls of non-blocking methods run inline on the event
/// loop with the check done there (`ServerCallExecutor.inlineHandler(for:)`); one
/// that must suspend sends every call through a task.
public protocol SynchronousServerInterceptor: ServerInterceptor {
    func check(_ context: ServerContext) throws(RPCError)
}

extension SynchronousServerInterceptor {
    public func intercept(_ context: ServerContext) async throws(RPCError) {
        try check(context)
    }
}
