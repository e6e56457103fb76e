/// The call shapes of gRPC over any `ClientTransport`, on encoded messages: the
/// metadata and deadline given here go with every call. A non-OK status throws
/// `RPCError` carrying the status and trailers.
public struct RPCClient: Sendable {
    public let transport: any ClientTransport
    public var metadata: Metadata
    public var timeout: Duration?

    public init(transport: any ClientTransport, metadata: Metadata = Metadata(), timeout: Duration? = nil) {
        self.transport = transport
        self.metadata = metadata
        self.timeout = timeout
    }

    public func close() { transport.close() }

    /// One request, one response (with the trailers).
    public func unary(_ path: String, request: [UInt8]) async throws -> (response: [UInt8], trailers: Metadata) {
        let call = try await transport.startCall(path, metadata: metadata, timeout: timeout)
        return try await withTaskCancellationHandler {
            try await call.send(request)
            call.closeSend()
            let response = try await Self.onlyResponse(of: call)
            let (status, trailers) = await call.result()
            guard status.code == .ok else { throw RPCError(status.code, status.message, metadata: trailers) }
            guard let response else { throw RPCError(.internal, "no response message for a unary call") }
            return (response, trailers)
        } onCancel: {
            call.cancel()
        }
    }

    /// One request; `each` gets every response in order. The status ends it: a
    /// non-OK one is thrown after the last response. An error thrown by `each`
    /// cancels the call and is rethrown.
    public func serverStreaming(_ path: String, request: [UInt8], each: ([UInt8]) async throws -> Void) async throws {
        let call = try await transport.startCall(path, metadata: metadata, timeout: timeout)
        try await withTaskCancellationHandler {
            try await call.send(request)
            call.closeSend()
            try await Self.read(call, each)
        } onCancel: {
            call.cancel()
        }
    }

    /// Requests as `produce` sends them, then one response. A server that ends the
    /// call early (a bad message) is answered by its status, not by a send error.
    public func clientStreaming(_ path: String, produce: (_ send: ([UInt8]) async throws -> Void) async throws -> Void)
        async throws -> [UInt8]
    {
        let call = try await transport.startCall(path, metadata: metadata, timeout: timeout)
        return try await withTaskCancellationHandler {
            do {
                try await produce { try await call.send($0) }
                call.closeSend()
            } catch is RPCError {
                // The call ended under the producer; the status below says why.
            } catch {
                call.cancel()
                throw error
            }
            let response = try await Self.onlyResponse(of: call)
            let (status, trailers) = await call.result()
            guard status.code == .ok else { throw RPCError(status.code, status.message, metadata: trailers) }
            guard let response else { throw RPCError(.internal, "no response message for a client-streaming call") }
            return response
        } onCancel: {
            call.cancel()
        }
    }

    /// Requests and responses side by side: `produce` sends while `each` reads.
    public func bidirectionalStreaming(
        _ path: String,
        produce: @escaping @Sendable (_ send: @Sendable ([UInt8]) async throws -> Void) async throws -> Void,
        each: ([UInt8]) async throws -> Void
    ) async throws {
        let call = try await transport.startCall(path, metadata: metadata, timeout: timeout)
        try await withTaskCancellationHandler {
            let sender = Task {
                do {
                    try await produce { try await call.send($0) }
                    call.closeSend()
                } catch is RPCError {
                } catch {
                    call.cancel()
                }
            }
            defer { sender.cancel() }
            try await Self.read(call, each)
        } onCancel: {
            call.cancel()
        }
    }

    // MARK: Helpers

    /// The one response of a call; a second is INTERNAL. A failed status is left to
    /// the caller, who reads it with its trailers.
    private static func onlyResponse(of call: any ClientStream) async throws -> [UInt8]? {
        var response: [UInt8]?
        do {
            for try await message in call.responses {
                guard response == nil else {
                    call.cancel()
                    throw RPCError(.internal, "more than one response message")
                }
                response = message
            }
        } catch let error as RPCError where error.code != .internal {
            // The status says it, with its trailers.
        } catch is CancellationError {
            call.cancel()
            throw RPCError(.cancelled, "cancelled by the client")
        }
        return response
    }

    private static func read(_ call: any ClientStream, _ each: ([UInt8]) async throws -> Void) async throws {
        do {
            for try await message in call.responses { try await each(message) }
        } catch is RPCError {
            // The status below, with its trailers.
        } catch {
            call.cancel()
            throw error
        }
        let (status, trailers) = await call.result()
        guard status.code == .ok else { throw RPCError(status.code, status.message, metadata: trailers) }
    }
}
