import RPC
import Synchronization

/// One call from the client: send request messages, read response messages, then
/// the final status. Any number of each, so it serves every method kind.
public final class ClientCall: ClientStream {
    /// The response messages; the sequence ends when the server ends the stream.
    public let messages = RequestStream()
    public var responses: RequestStream { messages }

    private struct State {
        var initialMetadata = Metadata()
        var result: (Status, Metadata)?
        var waiters: [CheckedContinuation<(Status, Metadata), Never>] = []
    }

    private let state = Mutex(State())
    private let connection: H2ClientConnection
    private nonisolated(unsafe) var stream: H2ClientConnection.Stream!

    /// Requests are sent gzip-compressed.
    let gzip: Bool

    init(connection: H2ClientConnection, maxMessageSize: Int, gzip: Bool = false) {
        self.connection = connection
        self.gzip = gzip
        stream = H2ClientConnection.Stream(call: self, maxMessageSize: maxMessageSize)
    }

    func open(path: String, metadata: Metadata, timeout: Duration?) {
        connection.open(stream, path: path, metadata: metadata, timeout: timeout, gzip: gzip)
    }

    /// Sends one request message; suspends while the send queue is full.
    public func send(_ message: [UInt8]) async throws {
        let frame = gzip ? MessageFramer.frame(Gzip.compress(message), compressed: true) : MessageFramer.frame(message)
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            connection.send(stream, frame, c)
        }
    }

    /// Ends the request side (half-close).
    public func closeSend() {
        connection.closeSend(stream)
    }

    /// Cancels the call: RST_STREAM(CANCEL) to the server, CANCELLED here.
    public func cancel() {
        connection.reset(stream, Status(.cancelled, "cancelled by the client"))
    }

    /// The server's response headers (custom metadata only).
    public var initialMetadata: Metadata { state.withLock { $0.initialMetadata } }

    /// The final status and trailers; waits for the end of the call.
    public func result() async -> (status: Status, trailers: Metadata) {
        await withCheckedContinuation { (c: CheckedContinuation<(Status, Metadata), Never>) in
            let done: (Status, Metadata)? = state.withLock { s in
                if let r = s.result { return r }
                s.waiters.append(c)
                return nil
            }
            if let done { c.resume(returning: done) }
        }
    }

    var isComplete: Bool { state.withLock { $0.result != nil } }

    /// Why a call that has ended ended, as the error its sends throw: the same status
    /// the caller will read (a connection lost before the request went out is
    /// UNAVAILABLE, not a vague CANCELLED).
    var endError: RPCError {
        let result = state.withLock { $0.result }
        guard let (status, trailers) = result, status.code != .ok else {
            return RPCError(.cancelled, "the call has ended")
        }
        return RPCError(status.code, status.message, metadata: trailers)
    }

    func setInitialMetadata(_ metadata: Metadata) {
        state.withLock { $0.initialMetadata = metadata }
    }

    /// The call's end; the first status wins.
    func complete(_ status: Status, trailers: Metadata) {
        let waiters: [CheckedContinuation<(Status, Metadata), Never>]? = state.withLock { s in
            guard s.result == nil else { return nil }
            s.result = (status, trailers)
            defer { s.waiters.removeAll() }
            return s.waiters
        }
        guard let waiters else { return }
        messages.finish(status.code == .ok ? nil : RPCError(status.code, status.message, metadata: trailers))
        for w in waiters { w.resume(returning: (status, trailers)) }
    }
}
