import BacktestProto
import RPC

/// Registration of handlers whose messages are protobuf messages of BacktestProto:
/// decoding errors become INVALID_ARGUMENT naming the field (RPCRouter's rule).
extension RPCRouter {
    public mutating func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        unary(path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
    }

    public mutating func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _ handler: @escaping @Sendable (Request, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        serverStreaming(path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
    }

    public mutating func clientStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _ handler: @escaping @Sendable (RequestMessages<Request>, ServerContext) async throws -> Response
    ) {
        clientStreaming(path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
    }

    public mutating func bidirectionalStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ path: String, _ handler: @escaping @Sendable (RequestMessages<Request>, ResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        bidirectionalStreaming(path, decode: { try Request(serializedBytes: $0) }, encode: { try $0.serializedBytes() }, handler: handler)
    }
}
