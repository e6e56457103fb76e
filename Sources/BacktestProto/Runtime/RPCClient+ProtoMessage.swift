import RPC

/// The call shapes of `RPCClient` on messages, by method descriptor: what the
/// generated client stubs call. A response that does not decode is INTERNAL (the
/// server broke the contract); a request that does not encode throws its `ProtoError`
/// before anything is sent.
extension RPCClient {
    public func unary<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor, _ request: Request, response: Response.Type = Response.self
    ) async throws -> Response {
        let bytes = try await unary(method.path, request: try request.serializedBytes()).response
        return try Self.decodeResponse(bytes, method)
    }

    /// `each` gets every response in order; the status ends the call.
    public func serverStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor, _ request: Request, each: (Response) async throws -> Void
    ) async throws {
        try await serverStreaming(method.path, request: try request.serializedBytes()) { bytes in
            try await each(try Self.decodeResponse(bytes, method))
        }
    }

    /// Requests as `produce` sends them, then the one response.
    public func clientStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor, response: Response.Type = Response.self,
        produce: (_ send: (Request) async throws -> Void) async throws -> Void
    ) async throws -> Response {
        let bytes = try await clientStreaming(method.path) { send in
            // `send` only lives for this call, as `produce` promises to use it.
            try await withoutActuallyEscaping(send) { send in
                try await produce { try await send(try $0.serializedBytes()) }
            }
        }
        return try Self.decodeResponse(bytes, method)
    }

    /// Requests and responses side by side: `produce` sends while `each` reads.
    public func bidirectionalStreaming<Request: ProtoMessage, Response: ProtoMessage>(
        _ method: MethodDescriptor,
        produce: @escaping @Sendable (_ send: @Sendable (Request) async throws -> Void) async throws -> Void,
        each: (Response) async throws -> Void
    ) async throws {
        try await bidirectionalStreaming(
            method.path,
            produce: { send in
                try await produce { try await send(try $0.serializedBytes()) }
            },
            each: { bytes in
                try await each(try Self.decodeResponse(bytes, method))
            })
    }

    static func decodeResponse<Response: ProtoMessage>(_ bytes: [UInt8], _ method: MethodDescriptor) throws -> Response
    {
        do {
            return try Response(serializedBytes: bytes)
        } catch {
            throw RPCError(
                .internal, "the response of \(method.path), a \(Response.protoName), does not decode: \(error)")
        }
    }
}
