import RPC

#if canImport(Glibc)
    import Glibc
#endif

/// A server connection: its streams, each one call run by the executor.
/// Stream state is confined to `loop` like everything in `H2Connection`.
final class H2ServerConnection: H2Connection, WireSessionDelegate, @unchecked Sendable {
    struct Limits {
        var maxReceiveMessageSize = 4 << 20
        /// Response bytes queued per stream before a streaming handler waits
        /// (grpc-go's per-stream write quota).
        var sendHighWater = 64 << 10
        /// Unread request bytes per stream before the flow-control window stops reopening.
        var receiveHighWater = 4 << 20
        var session = NGHTTP2Session.Settings()
        /// Timeouts, keepalive policy and the stream and header list limits (the
        /// last two are also in `session`, as nghttp2 settings).
        var connection = GRPCServer.ConnectionLimits()
        /// More ping strikes than this end the connection (grpc-go's maxPingStrikes).
        var maxPingStrikes = 2
        /// Streams of one connection that may hold room for a message they are
        /// building (`awaitCapacity`) at once: one client's bulk reads take turns.
        var maxProducers = 2
        /// Cross-origin access for browser pages; nil: none (no CORS headers, OPTIONS 405).
        var cors: CORSPolicy?
        /// Files answered to GET; nil: GET is 405.
        var site: StaticSite?
    }

    let peer: String
    let executor: ServerCallExecutor
    let limits: Limits
    let onEvent: (@Sendable (GRPCServer.ConnectionEvent) -> Void)?
    let onClose: @Sendable (H2ServerConnection) -> Void
    /// The server's producer slots, shared by every connection.
    let sendSlots: SendSlots
    var streams: [Int32: Stream] = [:]
    /// Response bytes queued on every stream of the connection.
    var queuedBytes = 0
    /// Streams holding room for a message they are building (`awaitCapacity`).
    var producers = 0
    /// Streams waiting in `awaitCapacity`, in the order they asked.
    var capacityWaiters: [(streamID: Int32, continuation: CheckedContinuation<Void, any Error>)] = []
    var lastClientPing: ContinuousClock.Instant?
    var pingStrikes = 0
    /// The client's preface and first SETTINGS have arrived (after TLS, if any).
    var prefaceReceived = false
    /// Since when no stream has been open; nil while one is.
    var idleSince: ContinuousClock.Instant? = .now
    /// A GOAWAY has gone out: the connection ends when its streams do.
    var draining = false
    /// Refusals (streams over the limit) left in the burst, and when it was last
    /// topped up: each costs a RST_STREAM, and nghttp2's Rapid Reset limit counts
    /// only the resets a client sends.
    var refusalTokens: Double
    var refusalsCounted = ContinuousClock.now

    /// One request/response exchange.
    final class Stream {
        let id: Int32
        var headers: [(String, String)] = []
        var deframer: MessageDeframer
        var requests: RequestStream?
        var task: Task<Void, Never>?
        /// A non-blocking unary call, run on the loop when its request is whole
        /// (`runInline`); such a call has no request stream and no task.
        var inline: InlineCall?
        /// Framed response messages waiting for nghttp2 to ask for them.
        var pending = OutboundMessages()
        var callStarted = false
        /// The method's path, once the call has started (for reports of calls left open).
        var path = ""
        /// The request's header list passed SETTINGS_MAX_HEADER_LIST_SIZE.
        var headerListTooLarge = false
        var responseStarted = false
        var deferred = false
        var finish: (Status, Metadata)?
        var sendWaiters: [CheckedContinuation<Void, any Error>] = []
        /// Room for the next message is kept for this stream (and a producer slot).
        var reserved = false
        /// Request bytes received whose window credit is held back (reader is slow).
        var heldCredit = 0
        var unreadBytes = 0
        /// The request's `grpc-encoding` is gzip.
        var gzip = false
        /// gRPC, gRPC-Web or Connect, by the request's content-type.
        var wire = CallWire.grpc
        /// A Connect unary request's body: the bare message, whole at the end of the stream.
        var unaryBody: [UInt8] = []
        /// The method's JSON codec, when the call's messages are JSON.
        var transcoder: MessageTranscoder?
        /// A `-text` request body's base64, decoded as it arrives.
        var textDecoder = GRPCWeb.TextDecoder()
        /// CORS headers for every response (the call came from an allowed origin).
        var cors: [(String, String)] = []

        init(id: Int32, maxMessageSize: Int) {
            self.id = id
            deframer = MessageDeframer(maxMessageSize: maxMessageSize)
            headers.reserveCapacity(8)  // a gRPC request's usual count: one allocation, not four
        }
    }

    init(
        io: any ByteStream, peer: String, executor: ServerCallExecutor, limits: Limits, sendSlots: SendSlots,
        onEvent: (@Sendable (GRPCServer.ConnectionEvent) -> Void)? = nil,
        onClose: @escaping @Sendable (H2ServerConnection) -> Void
    ) {
        self.peer = peer
        self.executor = executor
        self.limits = limits
        self.onEvent = onEvent
        self.onClose = onClose
        self.sendSlots = sendSlots
        refusalTokens = Double(limits.session.streamResetBurst)
        super.init(io: io)
        lingerTime = .seconds(2)
    }

    /// Starts serving, and the clocks of the connection's limits; call once. The
    /// protocol is chosen when the client's first bytes arrive (`session(forFirstBytes:)`).
    func start() {
        startSniffing()
        // The clocks are timers of the connection's (`after`), set on its queue.
        loop.execute { [self] in
            let c = limits.connection
            startKeepalive(interval: c.keepaliveInterval, timeout: c.keepaliveTimeout)
            // `after` holds the connection until the timer fires or `close` cancels it, so
            // its work can refer to it unowned.
            after(c.handshakeTimeout) { [unowned self] in handshakeDeadline() }
            if let idle = c.maxConnectionIdle { scheduleIdleCheck(after: idle, limit: idle) }
            if let age = c.maxConnectionAge {
                // Jittered like grpc-go's, so connections made together do not all go at once.
                after(age * Double.random(in: 0.9...1.1)) { [unowned self] in reachedMaxAge() }
            }
        }
    }

    /// HTTP/2 when TLS's ALPN chose h2 or the bytes begin its preface (`PRI`, which no
    /// HTTP/1.1 method is); HTTP/1.1 otherwise (ALPN http/1.1, or a request line).
    override func session(forFirstBytes bytes: [UInt8]) -> (any WireSession)? {
        let http2: Bool
        if let tls = io as? TLSStream, let alpn = tls.negotiatedProtocol {
            http2 = alpn == "h2"
        } else {
            let n = min(bytes.count, Self.prefaceStart.count)
            guard bytes.count >= Self.prefaceStart.count || !bytes.elementsEqual(Self.prefaceStart.prefix(n)) else {
                return nil
            }
            http2 = bytes.starts(with: Self.prefaceStart)
        }
        if http2 {
            let session = NGHTTP2Session(serverWith: limits.session)
            session.delegate = self
            return session
        }
        let session = HTTP1Session(
            limits: .init(
                maxHeaderListSize: Int(limits.session.maxHeaderListSize),
                window: Int(limits.session.initialWindowSize)))
        session.delegate = self
        return session
    }

    private static let prefaceStart = Array("PRI".utf8)

    /// Graceful shutdown, first step: tell the client no new streams will be served.
    func beginShutdown() {
        loop.execute { [self] in goAway() }
    }

    /// GOAWAY: streams open go on, new ones are not served, and the connection closes
    /// after the last one (nghttp2 then wants neither to read nor to write).
    private func goAway() {
        guard !closed, !draining else { return }
        // Not a protocol yet (not even a request line): nothing to wait for.
        guard session != nil else { return close() }
        draining = true
        session.submitShutdownNotice()
        session.submitGoaway(errorCode: 0)
        flush()
    }

    private func handshakeDeadline() {
        guard !closed, !prefaceReceived else { return }
        onEvent?(.ended(peer: peer, reason: .handshakeTimeout))
        close()
    }

    private func scheduleIdleCheck(after delay: Duration, limit: Duration) {
        after(delay) { [unowned self] in idleCheck(limit: limit) }
    }

    /// grpc-go's MaxConnectionIdle: idle is no stream open, counted from when the last
    /// one closed (or the connection opened).
    private func idleCheck(limit: Duration) {
        guard !closed, !draining else { return }
        guard let since = idleSince else { return scheduleIdleCheck(after: limit, limit: limit) }
        let idle = ContinuousClock.now - since
        if idle < limit { return scheduleIdleCheck(after: limit - idle, limit: limit) }
        onEvent?(.ended(peer: peer, reason: .idle))
        goAway()
    }

    private func reachedMaxAge() {
        guard !closed else { return }
        if !draining {
            onEvent?(.ended(peer: peer, reason: .maxAge))
            goAway()
        }
        guard let grace = limits.connection.maxConnectionAgeGrace else { return }
        after(grace) { [unowned self] in
            guard !closed else { return }
            onEvent?(.ended(peer: peer, reason: .maxAgeGrace))
            close()
        }
    }

    override func keepaliveTimedOut() {
        onEvent?(.ended(peer: peer, reason: .keepaliveTimeout))
        super.keepaliveTimedOut()
    }

    /// Streams open on this connection (for leak checks and metrics).
    func streamCount() async -> Int {
        await withCheckedContinuation { c in loop.execute { c.resume(returning: self.streams.count) } }
    }

    /// The streams open on this connection, each described (for tests' reports of
    /// calls that did not end).
    func describeStreams() async -> [String] {
        await withCheckedContinuation { c in
            loop.execute { [self] in
                let h2 = session as? NGHTTP2Session
                c.resume(
                    returning: streams.values.map { s in
                        let task = s.task.map { $0.isCancelled ? "cancelled" : "running" } ?? "none"
                        let requests = s.requests.map { "\($0)" } ?? "none"
                        let finish = s.finish.map { "\($0.0.code)" } ?? "not set"
                        return "stream \(s.id) \(s.path): h2 \(h2?.streamState(streamID: s.id) ?? "-"), task \(task), "
                            + "requests \(requests), inline \(s.inline != nil), finish \(finish), "
                            + "response started \(s.responseStarted), deferred \(s.deferred), "
                            + "\(s.pending.byteCount) bytes pending, closed \(closed)"
                    })
            }
        }
    }

    /// Timers pending on this connection (for tests).
    func timerCount() async -> Int {
        await withCheckedContinuation { c in loop.execute { c.resume(returning: self.pendingTimerCount) } }
    }

    /// Closes now, cancelling every call.
    func forceClose() {
        loop.execute { [self] in close() }
    }

    override func connectionClosed() {
        let gone = streams.values
        streams.removeAll()
        for stream in gone { endStream(stream, error: RPCError(.unavailable, "connection closed")) }
        grantCapacity()
        onClose(self)
    }

    // MARK: nghttp2 callbacks (on `loop`)

    func sessionBeginHeaders(streamID: Int32) -> Bool {
        // A second HEADERS block on a stream is the client's trailers.
        guard streams[streamID] == nil else { return true }
        // Over the advertised limit: this stream alone is refused (see NGHTTP2Session).
        guard streams.count < Int(limits.session.maxConcurrentStreams) else {
            countRefusal()
            return false
        }
        streams[streamID] = Stream(id: streamID, maxMessageSize: limits.maxReceiveMessageSize)
        idleSince = nil
        return true
    }

    func sessionHeader(streamID: Int32, name: String, value: String) {
        guard let stream = streams[streamID], !stream.callStarted else { return }
        stream.headers.append((name, value))
    }

    func sessionHeaderListTooLarge(streamID: Int32) {
        // Request trailers are ignored anyway; a request's own header list ends its call.
        guard let stream = streams[streamID], !stream.callStarted else { return }
        stream.headerListTooLarge = true
        stream.headers = []
    }

    func sessionHeadersComplete(streamID: Int32, endStream: Bool) {
        guard let stream = streams[streamID] else { return }
        if !stream.callStarted {
            stream.callStarted = true
            startCall(stream)
        }
        if endStream { sessionEndStream(streamID: streamID) }
    }

    func sessionData(streamID: Int32, bytes: UnsafeRawBufferPointer) {
        guard let stream = streams[streamID], stream.requests != nil || stream.inline != nil else {
            session.consumeConnection(bytes: bytes.count)
            return
        }
        if stream.wire.kind == .connectUnary {
            // The bare message, whole only at the end of the stream (sessionEndStream).
            session.consume(streamID: streamID, bytes: bytes.count)
            guard stream.unaryBody.count + bytes.count <= limits.maxReceiveMessageSize else {
                let error = RPCError(
                    .resourceExhausted, "request message larger than \(limits.maxReceiveMessageSize) bytes")
                stream.requests?.finish(error)
                return failCall(stream, error.status)
            }
            stream.unaryBody.append(contentsOf: bytes)
            return
        }
        let messages: [MessageDeframer.Message]
        do throws(RPCError) {
            if stream.wire.kind == .grpcWebText {
                guard let decoded = try? stream.textDecoder.decode(bytes) else {
                    throw RPCError(.internal, "the grpc-web-text request body is not base64")
                }
                messages = try stream.deframer.append(decoded)
            } else {
                messages = try stream.deframer.append(bytes)
            }
        } catch {
            session.consume(streamID: streamID, bytes: bytes.count)
            stream.requests?.finish(error)
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
                    stream.requests?.finish(error)
                    failCall(stream, error.status)
                    return
                }
            }
            if let transcoder = stream.transcoder {
                do throws(RPCError) {
                    bytes = try transcoder.request(bytes)
                } catch {
                    stream.requests?.finish(error)
                    return failCall(stream, error.status)
                }
            }
            guard deliver(bytes, to: stream) else { return }
        }
    }

    func sessionSettingsReceived() {
        prefaceReceived = true
    }

    /// grpc-go's keepalive enforcement: a ping sooner than `keepaliveMinTime` after the
    /// last one (two hours with no call open, unless pings without calls are
    /// permitted) is a strike; strikes reset whenever the server sends headers or data.
    func sessionPingReceived() {
        let now = ContinuousClock.now
        defer { lastClientPing = now }
        let policy = limits.connection
        let minimum =
            streams.isEmpty && !policy.keepalivePermitWithoutCalls ? Self.idlePingInterval : policy.keepaliveMinTime
        guard let last = lastClientPing, now - last < minimum else { return }
        pingStrikes += 1
        guard pingStrikes > limits.maxPingStrikes, !ending else { return }
        onEvent?(.ended(peer: peer, reason: .tooManyPings))
        session.submitGoaway(errorCode: NGHTTP2Session.enhanceYourCalm, debugData: "too_many_pings")
        endAfterOutput()
    }

    /// grpc-go's bound for pings on a connection without calls (its defaultPingTimeout).
    static let idlePingInterval: Duration = .seconds(7200)

    /// A client that keeps opening streams over the limit (its calls never get
    /// through) is told to calm down, at the rate the Rapid Reset limit allows resets.
    private func countRefusal() {
        let now = ContinuousClock.now
        let (seconds, attoseconds) = (now - refusalsCounted).components
        refusalsCounted = now
        refusalTokens = min(
            Double(limits.session.streamResetBurst),
            refusalTokens + (Double(seconds) + Double(attoseconds) / 1e18) * Double(limits.session.streamResetRate))
        refusalTokens -= 1
        guard refusalTokens < 0, !ending else { return }
        onEvent?(.ended(peer: peer, reason: .tooManyRefusedStreams))
        session.submitGoaway(errorCode: NGHTTP2Session.enhanceYourCalm, debugData: "too_many_refused_streams")
        endAfterOutput()
    }

    func sessionEndStream(streamID: Int32) {
        guard let stream = streams[streamID] else { return }
        if stream.wire.kind == .grpcWebText && !stream.textDecoder.isEmpty {
            let error = RPCError(.internal, "the grpc-web-text request body ends inside a base64 group")
            stream.requests?.finish(error)
            return failCall(stream, error.status)
        }
        if stream.wire.kind == .connectUnary, stream.finish == nil, stream.requests != nil || stream.inline != nil {
            var body = stream.unaryBody
            stream.unaryBody = []
            if stream.gzip {
                do throws(RPCError) {
                    body = try Gzip.decompress(body, limit: limits.maxReceiveMessageSize)
                } catch {
                    stream.requests?.finish(error)
                    return failCall(stream, error.status)
                }
            }
            if let transcoder = stream.transcoder {
                do throws(RPCError) {
                    body = try transcoder.request(body)
                } catch {
                    stream.requests?.finish(error)
                    return failCall(stream, error.status)
                }
            }
            guard deliver(body, to: stream) else { return }
        }
        if stream.inline != nil { return runInline(stream) }
        stream.requests?.finish()
    }

    func sessionStreamClosed(streamID: Int32, errorCode: UInt32) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        if streams.isEmpty { idleSince = .now }
        session.consumeConnection(bytes: stream.heldCredit)
        endStream(stream, error: RPCError(.cancelled, errorCode == 0 ? "stream closed" : "stream reset by the client"))
        grantCapacity()
    }

    func sessionReadData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer) -> BodyRead {
        guard let stream = streams[streamID] else { return .data(count: 0, end: .trailers([])) }
        let written = stream.pending.copy(into: buffer)
        queuedBytes -= written
        if written > 0 { pingStrikes = 0 }
        if stream.pending.byteCount < limits.sendHighWater / 2, !stream.sendWaiters.isEmpty {
            let waiters = stream.sendWaiters
            stream.sendWaiters.removeAll()
            for w in waiters { w.resume() }
        }
        if written > 0, !capacityWaiters.isEmpty { grantCapacity() }
        if stream.pending.isEmpty, let (status, trailers) = stream.finish {
            // gRPC-Web's and Connect's trailers went into the body or the headers
            // (finishCall): the body just ends.
            if stream.wire.kind != .grpc { return .data(count: written, end: .endStream) }
            return .data(count: written, end: .trailers(Self.trailerFields(status, trailers)))
        }
        if written == 0 {
            stream.deferred = true
            return .deferred
        }
        return .data(count: written, end: nil)
    }
}
