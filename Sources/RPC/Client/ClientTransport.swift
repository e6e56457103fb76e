/// How a client reaches a server: over HTTP/2 (`GRPCClient`) or in the same process
/// (`InProcessTransport`). Typed clients are written once against this seam.
public protocol ClientTransport: Sendable {
    /// Starts a call of any kind; the caller sends, half-closes and reads it.
    func startCall(_ path: String, metadata: Metadata, timeout: Duration?) async throws -> any ClientStream
    /// Releases the transport; calls in flight end UNAVAILABLE.
    func close()
}

/// One call as the client sees it, whatever carries it: request messages out,
/// response messages in, then the status and trailers.
public protocol ClientStream: AnyObject, Sendable {
    /// The response messages; the sequence ends (throwing the status if not OK) with the call.
    var responses: RequestStream { get }
    /// Sends one request message; suspends while the transport's send window is full.
    func send(_ message: [UInt8]) async throws
    /// Ends the request side (half-close).
    func closeSend()
    /// Cancels the call: the server sees a cancellation, the caller CANCELLED.
    func cancel()
    /// The final status and trailers; waits for the end of the call.
    func result() async -> (status: Status, trailers: Metadata)
}
