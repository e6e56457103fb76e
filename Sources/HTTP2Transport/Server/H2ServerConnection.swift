import Dispatch
import RPC
#if canImport(Glibc)
import Glibc
#endif

/// One client connection: the socket, its nghttp2 session and its streams.
///
/// Everything mutable here is confined to `queue`, a serial queue: nghttp2 callbacks
/// run on it (they are called from `receive`/`flush`, which run on it), and
/// handlers reach it only through `queue.async`. That is the invariant behind
/// `@unchecked Sendable`.
final class H2ServerConnection: @unchecked Sendable, NGHTTP2SessionDelegate {
    struct Limits {
        var maxReceiveMessageSize = 4 << 20
        /// Response bytes queued per stream before a streaming handler waits.
        var sendHighWater = 1 << 20
        /// Unread request bytes per stream before the flow-control window stops reopening.
        var receiveHighWater = 4 << 20
        var session = NGHTTP2Session.Settings()
    }

    let queue: DispatchQueue
    private let io: any ByteStream
    private var fd: Int32 { io.fd }
    private let peer: String
    private let executor: ServerCallExecutor
    private let limits: Limits
    private let onClose: @Sendable (H2ServerConnection) -> Void
    private var session: NGHTTP2Session!
    private var streams: [Int32: Stream] = [:]
    private var readSource: (any DispatchSourceRead)?
    private var writeSource: (any DispatchSourceWrite)?
    private var writeSourceActive = false
    private var output: [UInt8] = []
    private var outputStart = 0
    private var closed = false
    private var readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)

    /// One request/response exchange.
    final class Stream {
        let id: Int32
        var headers: [(String, String)] = []
        var deframer: MessageDeframer
        var requests: RequestStream?
        var task: Task<Void, Never>?
        /// Framed response messages waiting for nghttp2 to ask for them.
        var pending: [[UInt8]] = []
        var pendingHead = 0
        var pendingOffset = 0
        var pendingBytes = 0
        var responseStarted = false
        var deferred = false
        var finish: (Status, Metadata)?
        var sendWaiters: [CheckedContinuation<Void, any Error>] = []
        /// Request bytes received whose window credit is held back (reader is slow).
        var heldCredit = 0
        var unreadBytes = 0
        /// The request's `grpc-encoding` is gzip.
        var gzip = false

        init(id: Int32, maxMessageSize: Int) {
            self.id = id
            deframer = MessageDeframer(maxMessageSize: maxMessageSize)
        }
    }

    init(io: any ByteStream, peer: String, executor: ServerCallExecutor, limits: Limits, onClose: @escaping @Sendable (H2ServerConnection) -> Void) {
        self.io = io
        self.peer = peer
        self.executor = executor
        self.limits = limits
        self.onClose = onClose
        queue = DispatchQueue(label: "h2.connection.\(io.fd)")
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Starts reading; call once.
    func start() {
        queue.async { [self] in
            session = NGHTTP2Session(serverWith: limits.session)
            session.delegate = self
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in self?.readable() }
            readSource = source
            source.resume()
            flush()
        }
    }

    /// Graceful shutdown, first step: tell the client no new streams will be served.
    func beginShutdown() {
        queue.async { [self] in
            guard !closed else { return }
            session.submitShutdownNotice()
            session.submitGoaway(errorCode: 0)
            flush()
        }
    }

    /// Streams open on this connection (for leak checks and metrics).
    func streamCount() async -> Int {
        await withCheckedContinuation { c in queue.async { c.resume(returning: self.streams.count) } }
    }

    /// Closes now, cancelling every call.
    func forceClose() {
        queue.async { [self] in close() }
    }

    // MARK: Socket I/O

    private func readable() {
        guard !closed else { return }
        // Bounded: a few reads per turn so one busy connection cannot starve the
        // queue's other work (handler output); the rest is picked up next turn.
        for _ in 0..<8 {
            switch io.read(into: readBuffer) {
            case .bytes(let n):
                do {
                    try session.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                } catch {
                    // nghttp2 queued a GOAWAY where the protocol calls for one; flush it, then close.
                    session.terminate(errorCode: NGHTTP2Session.protocolError)
                    flush()
                    close()
                    return
                }
            case .wouldBlock, .needsRead:
                flush()
                return
            case .closed, .failed:
                close()
                return
            }
        }
        flush()
        // More may wait in the socket or in TLS buffers, which the read source does not see.
        queue.async { [weak self] in self?.readable() }
    }

    /// Writes what nghttp2 has to send, keeping what the socket does not take.
    private func flush() {
        while !closed {
            guard drainOutput() else { return }  // blocked: the write source or a read resumes
            var stoppedEarly = false
            do {
                try session.send { chunk in
                    switch io.write(chunk) {
                    case .bytes(let n) where n == chunk.count:
                        return true
                    case .bytes(let n):
                        // A partial write (TLS writes one record at a time): keep the rest.
                        output.append(contentsOf: chunk[n...])
                    case .wouldBlock, .needsRead:
                        output.append(contentsOf: chunk)
                    case .closed, .failed:
                        closed = true
                    }
                    stoppedEarly = true
                    return false
                }
            } catch {
                close()
                return
            }
            if closed { close(); return }
            // nghttp2 had nothing more to send: done.
            if !stoppedEarly { break }
        }
        if !closed && !session.wantsRead && !session.wantsWrite {
            close()
        }
    }

    /// Writes buffered output; false while some remains.
    private func drainOutput() -> Bool {
        while outputStart < output.count {
            let result = output.withUnsafeBytes { io.write(UnsafeRawBufferPointer(rebasing: $0[outputStart...])) }
            switch result {
            case .bytes(let n): outputStart += n
            case .wouldBlock:
                armWriteSource()
                return false
            case .needsRead:
                // The read side retries: readable() ends in flush().
                return false
            case .closed, .failed:
                close()
                return false
            }
        }
        output.removeAll(keepingCapacity: output.count <= 1 << 20)
        outputStart = 0
        return true
    }

    private func armWriteSource() {
        if writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.drainOutput() {
                    self.writeSource?.suspend()
                    self.writeSourceActive = false
                    self.flush()
                }
            }
            writeSource = source
        }
        if !writeSourceActive {
            writeSourceActive = true
            writeSource?.resume()
        }
    }

    private func close() {
        guard readSource != nil || !closed else { return }
        closed = true
        for stream in streams.values { endStream(stream, error: RPCError(.unavailable, "connection closed")) }
        streams.removeAll()
        readSource?.cancel()
        readSource = nil
        if let w = writeSource {
            if !writeSourceActive { w.resume() }
            w.cancel()
            writeSource = nil
        }
        io.close()
        onClose(self)
    }

    // MARK: nghttp2 callbacks (on `queue`)

    func sessionBeginRequest(streamID: Int32) {
        streams[streamID] = Stream(id: streamID, maxMessageSize: limits.maxReceiveMessageSize)
    }

    func sessionHeader(streamID: Int32, name: String, value: String) {
        streams[streamID]?.headers.append((name, value))
    }

    func sessionRequestHeadersComplete(streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID] else { return }
        startCall(stream)
        if endStream { stream.requests?.finish() }
    }

    func sessionData(streamID: Int32, bytes: UnsafeRawBufferPointer) {
        guard let stream = streams[streamID], let requests = stream.requests else {
            session.consumeConnection(bytes: bytes.count)
            return
        }
        let messages: [MessageDeframer.Message]
        do {
            messages = try stream.deframer.append(bytes)
        } catch {
            session.consume(streamID: streamID, bytes: bytes.count)
            requests.finish(error)
            failCall(stream, error.status)
            return
        }
        // Window credit: given back now unless the reader is behind.
        if stream.unreadBytes < limits.receiveHighWater {
            session.consume(streamID: streamID, bytes: bytes.count)
        } else {
            stream.heldCredit += bytes.count
        }
        for message in messages {
            var bytes = message.bytes
            if message.compressed {
                do throws(RPCError) {
                    guard stream.gzip else {
                        throw RPCError(.internal, "compressed message without a grpc-encoding")
                    }
                    bytes = try Gzip.decompress(bytes, limit: limits.maxReceiveMessageSize)
                } catch {
                    requests.finish(error)
                    failCall(stream, error.status)
                    return
                }
            }
            stream.unreadBytes += bytes.count
            requests.yield(bytes)
        }
    }

    func sessionEndStream(streamID: Int32) {
        streams[streamID]?.requests?.finish()
    }

    func sessionStreamClosed(streamID: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        session.consumeConnection(bytes: stream.heldCredit)
        endStream(stream, error: RPCError(.cancelled, errorCode == 0 ? "stream closed" : "stream reset by the client"))
    }

    func sessionReadData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer) -> NGHTTP2Session.ReadResult {
        guard let stream = streams[streamID] else { return .data(count: 0, trailers: []) }
        var written = 0
        while written < buffer.count, stream.pendingHead < stream.pending.count {
            let chunk = stream.pending[stream.pendingHead]
            let n = min(buffer.count - written, chunk.count - stream.pendingOffset)
            chunk.withUnsafeBytes { src in
                (buffer.baseAddress! + written).copyMemory(from: src.baseAddress! + stream.pendingOffset, byteCount: n)
            }
            written += n
            stream.pendingOffset += n
            if stream.pendingOffset == chunk.count {
                stream.pendingHead += 1
                stream.pendingOffset = 0
            }
        }
        stream.pendingBytes -= written
        if stream.pendingHead == stream.pending.count {
            stream.pending.removeAll(keepingCapacity: true)
            stream.pendingHead = 0
        }
        if stream.pendingBytes < limits.sendHighWater / 2, !stream.sendWaiters.isEmpty {
            let waiters = stream.sendWaiters
            stream.sendWaiters.removeAll()
            for w in waiters { w.resume() }
        }
        if stream.pendingBytes == 0, let (status, trailers) = stream.finish {
            return .data(count: written, trailers: Self.trailerFields(status, trailers))
        }
        if written == 0 {
            stream.deferred = true
            return .deferred
        }
        return .data(count: written, trailers: nil)
    }

    // MARK: Calls

    private func startCall(_ stream: Stream) {
        var method = "", path = "", contentType = "", timeout: String?, encoding: String?
        for (name, value) in stream.headers {
            switch name {
            case ":method": method = value
            case ":path": path = value
            case "content-type": contentType = value
            case "grpc-timeout": timeout = value
            case "grpc-encoding": encoding = value
            default: break
            }
        }
        guard method == "POST" else {
            session.submitResponse(streamID: stream.id, headers: [(":status", "405")], body: false)
            return
        }
        guard contentType == "application/grpc" || contentType.hasPrefix("application/grpc+") || contentType.hasPrefix("application/grpc;") else {
            session.submitResponse(streamID: stream.id, headers: [(":status", "415"), ("content-type", "text/plain")], body: false)
            return
        }
        if let encoding, encoding != "identity" {
            guard encoding == "gzip" else {
                session.submitResponse(streamID: stream.id, headers: Self.trailersOnly(
                    Status(.unimplemented, "grpc-encoding \(encoding) is not supported"), Metadata()) + [("grpc-accept-encoding", Self.acceptEncoding)], body: false)
                return
            }
            stream.gzip = true
        }
        var deadline: ContinuousClock.Instant?
        if let timeout {
            guard let d = GRPCTimeout.parse(timeout) else {
                session.submitResponse(streamID: stream.id, headers: Self.trailersOnly(
                    Status(.internal, "invalid grpc-timeout \(timeout)"), Metadata()), body: false)
                return
            }
            deadline = .now + d
        }
        let id = stream.id
        let requests = RequestStream { [weak self] bytes in
            guard let connection = self else { return }
            connection.queue.async { connection.consumed(streamID: id, bytes: bytes) }
        }
        stream.requests = requests
        let context = ServerContext(path: path, metadata: Metadata.fromHeaderFields(stream.headers), deadline: deadline, peer: peer)
        stream.headers = []
        let outbound = Outbound(connection: self, streamID: id)
        let executor = self.executor
        stream.task = Task {
            await executor.execute(context: context, requests: requests, outbound: outbound)
        }
    }

    /// The handler took `bytes` of request: give back held window credit.
    private func consumed(streamID: Int32, bytes: Int) {
        guard let stream = streams[streamID] else { return }
        stream.unreadBytes -= bytes
        if stream.heldCredit > 0 && stream.unreadBytes < limits.receiveHighWater {
            session.consume(streamID: streamID, bytes: stream.heldCredit)
            stream.heldCredit = 0
            flush()
        }
    }

    /// Queues a framed response message; `ready` resumes when the handler may send more.
    fileprivate func enqueue(_ streamID: Int32, _ frame: [UInt8], _ ready: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[streamID], stream.finish == nil, !closed else {
            ready.resume(throwing: RPCError(.cancelled, "the call has ended"))
            return
        }
        stream.pending.append(frame)
        stream.pendingBytes += frame.count
        startOrResume(stream)
        if stream.pendingBytes > limits.sendHighWater {
            stream.sendWaiters.append(ready)
        } else {
            ready.resume()
        }
        flush()
    }

    fileprivate func finishCall(_ streamID: Int32, _ status: Status, _ trailers: Metadata) {
        guard let stream = streams[streamID], stream.finish == nil else { return }
        stream.finish = (status, trailers)
        if !stream.responseStarted {
            stream.responseStarted = true
            session.submitResponse(streamID: streamID, headers: Self.trailersOnly(status, trailers), body: false)
        } else if stream.deferred {
            stream.deferred = false
            session.resumeData(streamID: streamID)
        }
        flush()
    }

    private func startOrResume(_ stream: Stream) {
        if !stream.responseStarted {
            stream.responseStarted = true
            session.submitResponse(streamID: stream.id, headers: [(":status", "200"), ("content-type", "application/grpc"), ("grpc-accept-encoding", Self.acceptEncoding)], body: true)
        } else if stream.deferred {
            stream.deferred = false
            session.resumeData(streamID: stream.id)
        }
    }

    /// A transport-detected error: the handler is told through its request stream and
    /// the call ends with `status`.
    private func failCall(_ stream: Stream, _ status: Status) {
        finishCall(stream.id, status, Metadata())
        stream.task?.cancel()
    }

    private func endStream(_ stream: Stream, error: RPCError) {
        stream.requests?.finish(error)
        stream.task?.cancel()
        for w in stream.sendWaiters { w.resume(throwing: error) }
        stream.sendWaiters.removeAll()
    }

    /// The message encodings this server accepts.
    static let acceptEncoding = "identity,gzip"

    static func trailerFields(_ status: Status, _ trailers: Metadata) -> [(String, String)] {
        var fields = [("grpc-status", String(status.code.rawValue))]
        if !status.message.isEmpty { fields.append(("grpc-message", StatusMessageCoding.encode(status.message))) }
        fields += trailers.headerFields()
        return fields
    }

    static func trailersOnly(_ status: Status, _ trailers: Metadata) -> [(String, String)] {
        [(":status", "200"), ("content-type", "application/grpc")] + trailerFields(status, trailers)
    }

    /// The handler's view of its response stream.
    struct Outbound: ServerCallOutbound {
        let connection: H2ServerConnection
        let streamID: Int32

        func send(_ message: [UInt8]) async throws {
            let frame = MessageFramer.frame(message)
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                connection.queue.async { connection.enqueue(streamID, frame, c) }
            }
        }

        func finish(_ status: Status, trailers: Metadata) async {
            connection.queue.async { connection.finishCall(streamID, status, trailers) }
        }
    }
}
