import BacktestProto
import RPC

/// Registration of handlers whose messages are protobuf messages of BacktestProto:
/// decoding errors become INVALID_ARGUMENT naming the field (RPCRouter's rule).
/// Prefer the MethodDescriptor forms: the generated descriptors spell the path, and
/// a handler of the wrong shape for its method stops the server at registration.
extension RPCRouter {
    public mutating func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        Self.requireKind(method, .unary)
        unary(method.path, handler)
    }

    /// A unary method whose handler cannot block (`RPCRouter.nonBlockingUnary`: its
    /// calls may run on the event loop that read them).
    public mutating func nonBlockingUnary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor, _ handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        Self.requireKind(method, .unary)
        nonBlockingUnary(method.path, handler)
    }

    public mutating func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        Self.requireKind(method, .serverStreaming)
        serverStreaming(method.path, handler)
    }

    public mutating func clientStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (RequestMessages<Request>, ServerContext) async throws -> Response
    ) {
        Self.requireKind(method, .clientStreaming)
        clientStreaming(method.path, handler)
    }

    public mutating func bidirectionalStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        _ handler:
            @escaping @Sendable (RequestMessages<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        Self.requireKind(method, .bidirectionalStreaming)
        bidirectionalStreaming(method.path, handler)
    }

    public mutating func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        unary(
            path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
        setJSON(path, Request.self, Response.self)
    }

    public mutating func nonBlockingUnary<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _ handler: @escaping @Sendable (Request, ServerContext) throws -> Response
    ) {
        nonBlockingUnary(
            path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
        setJSON(path, Request.self, Response.self)
    }

    public mutating func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String,
        _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        serverStreaming(
            path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
        setJSON(path, Request.self, Response.self)
    }

    public mutating func clientStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String,
        _ handler: @escaping @Sendable (RequestMessages<Request>, ServerContext) async throws -> Response
    ) {
        clientStreaming(
            path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
        setJSON(path, Request.self, Response.self)
    }

    public mutating func bidirectionalStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String,
        _ handler:
            @escaping @Sendable (RequestMessages<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        bidirectionalStreaming(
            path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
        setJSON(path, Request.self, Response.self)
    }

    /// The method's JSON codec, from the proto3 JSON mapping generated for its
    /// messages (every generated message has one).
    private mutating func setJSON<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _: Request.Type, _: Response.Type
    ) {
        guard let request = Request.self as? any (ProtoMessage & ProtoJSONMessage).Type,
            let response = Response.self as? any (ProtoMessage & ProtoJSONMessage).Type
        else { return }
        let recent = LastTranscoding()
        setJSON(
            path,
            MessageTranscoder(
                request: { bytes throws(RPCError) in
                    do {
                        return try request.init(jsonUTF8: bytes).serializedBytes()
                    } catch let error as ProtoJSONError {
                        throw RPCError(
                            .invalidArgument, "request is not a valid \(request.protoName) in JSON: \(error)")
                    } catch {
                        throw RPCError(.invalidArgument, "request is not a valid \(request.protoName): \(error)")
                    }
                },
                response: { bytes throws(RPCError) in
                    if let json = recent.output(for: bytes) { return json }
                    do {
                        let json = Array(try response.init(serializedBytes: bytes).jsonString().utf8)
                        recent.remember(bytes, json)
                        return json
                    } catch {
                        throw RPCError(.internal, "response could not be encoded as JSON: \(error)")
                    }
                }))
    }

    /// A unary handler on a streaming method (or the reverse) would fail every call
    /// in a confusing way; it is a programming error, caught when the server is built.
    private static func requireKind(_ method: MethodDescriptor, _ kind: MethodDescriptor.Kind) {
        precondition(method.kind == kind, "\(method.path) is a \(method.kind) method; registered as \(kind)")
    }
}
