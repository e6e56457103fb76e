import RPC
import Synchronization

/// A client connection: the calls it carries, one HTTP/2 stream each.
/// Stream state is confined to `loop` like everything in `H2Connection`.
final class H2ClientConnection: H2Connection, WireSessionDelegate, @unchecked Sendable {
    struct Options {
        var authority: String
        var scheme: String
        var maxReceiveMessageSize: Int
        var sendHighWater = 1 << 20
    }

    /// One call's stream; fields are touched on the connection's loop only.
    final class Stream: @unchecked Sendable {
        let call: ClientCall
        var id: Int32 = 0
        var pending = OutboundMessages()
        var halfClosed = false
        var deferred = false
        var headersDone = false
        var headers: [(String, String)] = []
        var trailers: [(String, String)] = []
        var gzip = false
        var deframer: MessageDeframer
        var sendWaiters: [CheckedContinuation<Void, any Error>] = []
        /// The call ended while its HEADERS were still queued.
        var resetWhenStarted = false
        /// The client's own deadline timer, cancelled when the stream closes.
        var deadline: EventLoop.TimerID?

        init(call: ClientCall, maxMessageSize: Int) {
            self.call = call
            deframer = MessageDeframer(maxMessageSize: maxMessageSize)
        }
    }

    private let options: Options
    private var streams: [Int32: Stream] = [:]
    /// Calls wait for the server's SETTINGS: until then nghttp2 does not know the
    /// server's stream limit and would open streams the server must refuse.
    private var settingsReceived = false
    private var waitingOpens: [() -> Void] = []
    /// The session, as the client's own kind (its requests and resets are HTTP/2's).
    private var h2: NGHTTP2Session!

    init(io: any ByteStream, options: Options) {
        self.options = options
        super.init(io: io)
    }

    func start() {
        start { [unowned self] in
            let session = NGHTTP2Session(clientWith: NGHTTP2Session.Settings())
            session.delegate = self
            h2 = session
            return session
        }
    }

    /// Usable for new calls: not closed and not told to go away.
    var isOpen: Bool { state.withLock { $0 } }
    private let state = Mutex(true)

    // MARK: Calls (from ClientCall, through `loop`)

    func open(_ stream: Stream, path: String, metadata: Metadata, timeout: Duration?, gzip: Bool) {
        loop.execute { [self] in
            if let timeout {
                // The client's own deadline (the server's answer may never come), on the
                // loop: it fires on time even when Swift's task pool is busy.
                // (`after` holds the connection while the timer is pending: unowned here.)
                stream.deadline = after(timeout) { [unowned self, weak stream] in
                    guard let stream, !stream.call.isComplete else { return }
                    stream.deadline = nil
                    reset(stream, Status(.deadlineExceeded, "deadline exceeded"))
                }
            }
            if !settingsReceived && !closed {
                waitingOpens.append {
                    self.openNow(stream, path: path, metadata: metadata, timeout: timeout, gzip: gzip)
                }
                return
            }
            openNow(stream, path: path, metadata: metadata, timeout: timeout, gzip: gzip)
        }
    }

    private func openNow(_ stream: Stream, path: String, metadata: Metadata, timeout: Duration?, gzip: Bool) {
        // Cancelled (or past its deadline) while it waited for the server's SETTINGS:
        // the caller has its status; opening it now would start a call nobody reads.
        guard !stream.call.isComplete else { return }
        guard !closed, session != nil else {
            stream.call.complete(Status(.unavailable, "connection closed"), trailers: Metadata())
            return
        }
        var headers = [
            (":method", "POST"), (":scheme", options.scheme), (":path", path), (":authority", options.authority),
            ("content-type", "application/grpc"), ("te", "trailers"), ("user-agent", "backtest-grpc/1"),
            ("grpc-accept-encoding", H2ServerConnection.acceptEncoding),
        ]
        if let timeout { headers.append(("grpc-timeout", GRPCTimeout.format(timeout))) }
        if gzip { headers.append(("grpc-encoding", "gzip")) }
        headers += metadata.headerFields()
        // A header list over the server's advertised limit would be refused (or, with a
        // field over nghttp2's 64 KiB, end the connection and every call on it): this
        // call alone fails, here.
        let size = headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 32 }
        guard size <= h2.peerMaxHeaderListSize else {
            stream.call.complete(
                Status(
                    .resourceExhausted,
                    "request headers of \(size) bytes are over the server's limit of \(h2.peerMaxHeaderListSize)"),
                trailers: Metadata())
            return
        }
        guard let id = h2.submitRequest(headers: headers) else {
            stream.call.complete(Status(.unavailable, "the connection takes no new streams"), trailers: Metadata())
            return
        }
        stream.id = id
        streams[id] = stream
        flush()
    }

    func sessionSettingsReceived() {
        guard !settingsReceived else { return }
        settingsReceived = true
        let opens = waitingOpens
        waitingOpens = []
        for open in opens { open() }
    }

    func send(_ stream: Stream, _ frame: [UInt8], _ ready: CheckedContinuation<Void, any Error>) {
        loop.execute { [self] in
            // Before the stream opens (waiting for SETTINGS) messages queue up for it.
            let open = stream.id != 0 && streams[stream.id] === stream
            guard open || stream.id == 0, !stream.halfClosed, !stream.call.isComplete else {
                ready.resume(throwing: stream.call.endError)
                return
            }
            stream.pending.append(frame)
            if stream.pending.byteCount > options.sendHighWater {
                stream.sendWaiters.append(ready)
            } else {
                ready.resume()
            }
            if open { resume(stream) }
        }
    }

    func closeSend(_ stream: Stream) {
        loop.execute { [self] in
            guard !stream.halfClosed else { return }
            stream.halfClosed = true
            if stream.id != 0 && streams[stream.id] === stream { resume(stream) }
        }
    }

    /// Resets the stream and ends the call with `status` (cancellation, deadline).
    func reset(_ stream: Stream, _ status: Status) {
        loop.execute { [self] in
            // First: sending the reset closes the stream, and its close callback would
            // otherwise set the status (CANCELLED) before ours.
            stream.call.complete(status, trailers: Metadata())
            guard streams[stream.id] === stream else { return }
            if h2.hasStarted(streamID: stream.id) {
                h2.resetStream(streamID: stream.id, errorCode: NGHTTP2Session.cancel)
                flush()
            } else {
                // Still queued behind the server's stream limit: resetting it now would
                // make nghttp2 count it closed though it never opened, and then open one
                // stream more than the server allows (GOAWAY). Reset once it has opened.
                stream.resetWhenStarted = true
            }
        }
    }

    private func resume(_ stream: Stream) {
        if stream.deferred {
            stream.deferred = false
            session.resumeData(streamID: stream.id)
        }
        flush()
    }

    override func connectionClosed() {
        state.withLock { $0 = false }
        let opens = waitingOpens
        waitingOpens = []
        for open in opens { open() }  // each ends UNAVAILABLE: the connection is closed
        for stream in streams.values {
            for w in stream.sendWaiters { w.resume(throwing: RPCError(.unavailable, "connection closed")) }
            stream.call.complete(Status(.unavailable, "connection closed"), trailers: Metadata())
        }
        streams.removeAll()
    }

    /// The streams open on this connection, each described (for tests' reports of
    /// calls that did not end).
    func describeStreams() async -> [String] {
        await withCheckedContinuation { c in
            loop.execute { [self] in
                c.resume(
                    returning: streams.values.map { s in
                        "stream \(s.id): h2 \(h2?.streamState(streamID: s.id) ?? "-"), complete \(s.call.isComplete), "
                            + "half-closed \(s.halfClosed), \(s.pending.byteCount) bytes pending, "
                            + "reset when started \(s.resetWhenStarted), closed \(closed)"
                    })
            }
        }
    }

    // MARK: nghttp2 callbacks (on `loop`)

    func sessionBeginHeaders(streamID: Int32) -> Bool { true }

    /// The response's headers or trailers passed the limit this client advertised:
    /// the call ends RESOURCE_EXHAUSTED, as C-core's does.
    func sessionHeaderListTooLarge(streamID: Int32) {
        guard let stream = streams[streamID] else { return }
        h2.resetStream(streamID: streamID, errorCode: NGHTTP2Session.cancel)
        stream.call.complete(
            Status(.resourceExhausted, "response header list larger than the client's limit"), trailers: Metadata())
    }

    func sessionPingReceived() {}

    func sessionHeader(streamID: Int32, name: String, value: String) {
        guard let stream = streams[streamID] else { return }
        if stream.headersDone {
            stream.trailers.append((name, value))
        } else {
            stream.headers.append((name, value))
        }
    }

    func sessionHeadersComplete(streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID] else { return }
        guard !stream.headersDone else {
            if endStream { serverEnded(stream) }  // the trailers
            return
        }
        stream.headersDone = true
        stream.gzip = stream.headers.contains { $0.0 == "grpc-encoding" && $0.1 == "gzip" }
        stream.call.setInitialMetadata(Metadata.fromHeaderFields(stream.headers))
        // Trailers-only: the status is in this single HEADERS frame.
        if endStream {
            stream.trailers = stream.headers
            serverEnded(stream)
        }
    }

    /// The server has ended its side. While ours is still open (it answered before the
    /// request ended: an error, its deadline) the stream would wait for a request
    /// nobody reads: the call ends now with the server's status and the stream is
    /// reset, as RFC 9113 8.1 and gRPC's clients have it.
    private func serverEnded(_ stream: Stream) {
        guard !stream.halfClosed || !stream.pending.isEmpty else { return }  // it closes by itself
        stream.call.complete(
            Self.status(headers: stream.headers, trailers: stream.trailers, errorCode: 0),
            trailers: Metadata.fromHeaderFields(stream.trailers))
        // A sender waiting for room learns the status the caller will read.
        for w in stream.sendWaiters { w.resume(throwing: stream.call.endError) }
        stream.sendWaiters.removeAll()
        h2.resetStream(streamID: stream.id, errorCode: NGHTTP2Session.noError)
    }

    func sessionData(streamID: Int32, bytes: UnsafeRawBufferPointer) {
        session.consume(streamID: streamID, bytes: bytes.count)
        guard let stream = streams[streamID] else { return }
        do {
            for message in try stream.deframer.append(bytes) {
                var payload = message.bytes
                if message.compressed {
                    guard stream.gzip else { throw RPCError(.internal, "compressed response without grpc-encoding") }
                    payload = try Gzip.decompress(payload, limit: options.maxReceiveMessageSize)
                }
                stream.call.messages.yield(payload)
            }
        } catch {
            h2.resetStream(streamID: streamID, errorCode: NGHTTP2Session.cancel)
            stream.call.complete((error as? RPCError)?.status ?? Status(.internal, "\(error)"), trailers: Metadata())
        }
    }

    func sessionEndStream(streamID: Int32) {
        if let stream = streams[streamID] { serverEnded(stream) }
    }

    func sessionStreamClosed(streamID: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        if let deadline = stream.deadline { cancelTimer(deadline) }
        for w in stream.sendWaiters { w.resume(throwing: RPCError(.cancelled, "the call has ended")) }
        stream.sendWaiters.removeAll()
        stream.call.complete(
            Self.status(headers: stream.headers, trailers: stream.trailers, errorCode: errorCode),
            trailers: Metadata.fromHeaderFields(stream.trailers))
    }

    func sessionReadData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer) -> BodyRead {
        guard let stream = streams[streamID] else { return .data(count: 0, end: .endStream) }
        if stream.resetWhenStarted {
            // Its HEADERS are out now (nghttp2 asks for DATA only after them).
            h2.resetStream(streamID: streamID, errorCode: NGHTTP2Session.cancel)
            return .deferred
        }
        let written = stream.pending.copy(into: buffer)
        if stream.pending.byteCount < options.sendHighWater / 2, !stream.sendWaiters.isEmpty {
            let waiters = stream.sendWaiters
            stream.sendWaiters.removeAll()
            for w in waiters { w.resume() }
        }
        if stream.pending.isEmpty && stream.halfClosed { return .data(count: written, end: .endStream) }
        if written == 0 {
            stream.deferred = true
            return .deferred
        }
        return .data(count: written, end: nil)
    }

    /// The call's status from what the server sent (gRPC over HTTP/2's rules).
    static func status(headers: [(String, String)], trailers: [(String, String)], errorCode: UInt32) -> Status {
        if let code = trailers.first(where: { $0.0 == "grpc-status" }).flatMap({ Int($0.1) }) {
            let message = trailers.first { $0.0 == "grpc-message" }.map { StatusMessageCoding.decode($0.1) } ?? ""
            return Status(Status.Code(wireValue: code), message)
        }
        if let http = headers.first(where: { $0.0 == ":status" }).flatMap({ Int($0.1) }), http != 200 {
            let code: Status.Code =
                switch http {
                case 400: .internal
                case 401: .unauthenticated
                case 403: .permissionDenied
                case 404: .unimplemented
                case 429, 502, 503, 504: .unavailable
                default: .unknown
                }
            return Status(code, "HTTP status \(http)")
        }
        switch errorCode {
        case 7: return Status(.unavailable, "stream refused by the server")
        case 8: return Status(.cancelled, "stream cancelled")
        default: return Status(.internal, "stream closed (HTTP/2 error \(errorCode)) without a gRPC status")
        }
    }
}
