/// Maps `/package.Service/Method` to handlers.
public struct RPCRouter: Sendable {
    public enum Kind: Sendable {
        case unary, serverStreaming, clientStreaming, bidirectionalStreaming
    }

    /// A handler at the bytes level; the typed registration methods wrap theirs.
    public struct Method: Sendable {
        public var kind: Kind
        /// Runs the handler; returns the call's last response message for the executor
        /// to send with the end of the call (unary and client-streaming methods), nil
        /// when the handler sent its messages itself.
        public var run: @Sendable (RequestStream, any ServerCallOutbound, ServerContext) async throws -> [UInt8]?
        /// The method's messages in JSON, for the protocols that offer that codec
        /// (Connect); nil when its message types have no JSON mapping.
        public var json: MessageTranscoder?
        /// The priority its calls run at; nil is the default (medium). Bulk methods run
        /// lower so that small calls (health, listing, stop) are not queued behind
        /// them on the few cooperative threads (`setPriority`).
        public var priority: TaskPriority?
        /// Set for a unary method whose handler cannot block (`nonBlockingUnary`): a
        /// transport may run its calls to completion on the thread that read the
        /// request, with no task (`ServerCallExecutor.runInline`). `run` does the same
        /// work as a task, for transports and interceptors that need one.
        public var inline: InlineHandler?

        public init(
            kind: Kind, json: MessageTranscoder? = nil,
            run: @escaping @Sendable (RequestStream, any ServerCallOutbound, ServerContext) async throws -> [UInt8]?
        ) {
            self.kind = kind
            self.json = json
            self.run = run
        }
    }

    /// A non-blocking unary handler at the bytes level: the request message in, the
    /// response message out, synchronously.
    public typealias InlineHandler = @Sendable ([UInt8], ServerContext) throws -> [UInt8]

    /// Gives a registered method its JSON codec (registration by message type does).
    public mutating func setJSON(_ path: String, _ transcoder: MessageTranscoder) {
        methods[path]?.json = transcoder
    }

    /// Runs the method's calls at `priority`: lower for bulk transfers (result streams,
    /// imports), whose calls then yield the cores to control-plane calls queued after
    /// them. A call's tasks inherit it.
    public mutating func setPriority(_ path: String, _ priority: TaskPriority) {
        methods[path]?.priority = priority
    }

    public private(set) var methods: [String: Method] = [:]

    public init() {}

    public mutating func register(_ path: String, _ method: Method) {
        methods[path] = method
    }

    /// The services registered, sorted, for reflection.
    public var serviceNames: [String] {
        Set(
            methods.keys.compactMap { path -> String? in
                let parts = path.split(separator: "/")
                return parts.count == 2 ? String(parts[0]) : nil
            }
        ).sorted()
    }

    public mutating func unary<Request: Sendable, Response: Sendable>(
        _ path: String,
        decode: @escaping @Sendable ([UInt8]) throws -> Request,
        encode: @escaping @Sendable (Response) throws -> [UInt8],
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        register(
            path,
            Method(kind: .unary) { requests, out, context in
                let request = try await Self.single(requests, decode: decode)
                let response = try await handler(request, context)
                return try Self.encode(response, encode)
            })
    }

    /// A unary method whose handler cannot block: it does not wait for I/O, a lock held
    /// for long, another task or an actor (it is synchronous), and it is short (a table
    /// lookup, a small message). Its calls may then run on the event loop that read
    /// the request, without a task or a thread hand-off (DESIGN 12.2); anything else
    /// must be registered with `unary`, whose calls run as tasks.
    public mutating func nonBlockingUnary<Request: Sendable, Response: Sendable>(
        _ path: String,
        decode: @escaping @Sendable ([UInt8]) throws -> Request,
        encode: @escaping @Sendable (Response) throws -> [UInt8],
        handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        var method = Method(kind: .unary) { requests, _, context in
            let request = try await Self.single(requests, decode: decode)
            return try Self.encode(try handler(request, context), encode)
        }
        method.inline = { bytes, context in
            try Self.encode(try handler(try Self.decodeRequest(bytes, decode), context), encode)
        }
        register(path, method)
    }

    public mutating func serverStreaming<Request: Sendable, Response: Sendable>(
        _ path: String,
        decode: @escaping @Sendable ([UInt8]) throws -> Request,
        encode: @escaping @Sendable (Response) throws -> [UInt8],
        handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        register(
            path,
            Method(kind: .serverStreaming) { requests, out, context in
                let request = try await Self.single(requests, decode: decode)
                try await handler(request, ResponseWriter(outbound: out, encode: encode), context)
                return nil
            })
    }

    public mutating func clientStreaming<Request: Sendable, Response: Sendable>(
        _ path: String,
        decode: @escaping @Sendable ([UInt8]) throws -> Request,
        encode: @escaping @Sendable (Response) throws -> [UInt8],
        handler: @escaping @Sendable (RequestMessages<Request>, ServerContext) async throws -> Response
    ) {
        register(
            path,
            Method(kind: .clientStreaming) { requests, out, context in
                let response = try await handler(RequestMessages(stream: requests, decode: decode), context)
                return try Self.encode(response, encode)
            })
    }

    public mutating func bidirectionalStreaming<Request: Sendable, Response: Sendable>(
        _ path: String,
        decode: @escaping @Sendable ([UInt8]) throws -> Request,
        encode: @escaping @Sendable (Response) throws -> [UInt8],
        handler:
            @escaping @Sendable (RequestMessages<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        register(
            path,
            Method(kind: .bidirectionalStreaming) { requests, out, context in
                try await handler(
                    RequestMessages(stream: requests, decode: decode), ResponseWriter(outbound: out, encode: encode),
                    context)
                return nil
            })
    }

    /// Exactly one request message, as unary and server-streaming methods take.
    static func single<Request>(_ requests: RequestStream, decode: ([UInt8]) throws -> Request) async throws -> Request
    {
        guard let first = try await requests.next() else { throw noRequest }
        guard try await requests.next() == nil else { throw extraRequest }
        return try decodeRequest(first, decode)
    }

    /// A unary or server-streaming call whose request stream ended without a message.
    public static let noRequest = RPCError(.internal, "no request message for a method that takes one")
    /// A second request message on a call that takes one.
    public static let extraRequest = RPCError(.internal, "more than one request message for a method that takes one")

    static func decodeRequest<Request>(_ bytes: [UInt8], _ decode: ([UInt8]) throws -> Request) throws -> Request {
        do {
            return try decode(bytes)
        } catch let e as RPCError {
            throw e
        } catch {
            throw RPCError(.invalidArgument, "request is not a valid message: \(error)")
        }
    }

    static func encode<Response>(_ response: Response, _ encode: (Response) throws -> [UInt8]) throws -> [UInt8] {
        do {
            return try encode(response)
        } catch {
            throw RPCError(.internal, "response could not be encoded: \(error)")
        }
    }
}

/// Typed request messages of a client- or bidirectional-streaming call.
public struct RequestMessages<Request: Sendable>: AsyncSequence, Sendable {
    public typealias Element = Request
    let stream: RequestStream
    let decode: @Sendable ([UInt8]) throws -> Request

    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: RequestStream
        let decode: @Sendable ([UInt8]) throws -> Request
        public mutating func next() async throws -> Request? {
            guard let bytes = try await stream.next() else { return nil }
            return try RPCRouter.decodeRequest(bytes, decode)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream, decode: decode) }
}

/// Sends typed response messages of a streaming call.
public struct ResponseWriter<Response: Sendable>: Sendable {
    let outbound: any ServerCallOutbound
    let encode: @Sendable (Response) throws -> [UInt8]

    /// Suspends while the client is not reading (flow control); throws when the
    /// call has ended (client cancelled, deadline, connection gone).
    public func write(_ response: Response) async throws {
        try await outbound.send(RPCRouter.encode(response, encode))
    }

    /// Waits until the client can take another message, before the handler reads
    /// or builds it (see `ServerCallOutbound.awaitCapacity`).
    public func awaitCapacity() async throws {
        try await outbound.awaitCapacity()
    }
}
