import RPC

/// A connection's calls: starting one from its request headers (the protocol by the
/// content-type), queueing its response messages and ending it as its protocol
/// says (HTTP trailers, a trailer envelope, an HTTP status or an end-of-stream
/// envelope).
extension H2ServerConnection {
    func startCall(_ stream: Stream) {
        guard !stream.headerListTooLarge else {
            // As gRPC C-core answers a header list over its hard limit: on this stream
            // alone, the connection and its other calls unharmed.
            session.submitResponse(
                streamID: stream.id,
                headers: Self.trailersOnly(
                    Status(
                        .resourceExhausted,
                        "request header list larger than the server's limit of \(limits.session.maxHeaderListSize) bytes"
                    ), Metadata()), body: false)
            return
        }
        var method = "", path = "", contentType = "", timeout: String?, encoding: String?
        var connectTimeout: String?, contentEncoding: String?, connectEncoding: String?, origin: String?
        for (name, value) in stream.headers {
            switch name {
            case "origin": origin = value
            case ":method": method = value
            case ":path": path = value
            case "content-type": contentType = value
            case "grpc-timeout": timeout = value
            case "grpc-encoding": encoding = value
            case "connect-timeout-ms": connectTimeout = value
            case "content-encoding": contentEncoding = value
            case "connect-content-encoding": connectEncoding = value
            default: break
            }
        }
        if let origin, let cors = limits.cors {
            let allowed = cors.allows(origin)
            if allowed { stream.cors = CORSPolicy.responseHeaders(origin: origin) }
            if method == "OPTIONS" {
                // A preflight: answered here, before interceptors (it carries no token).
                session.submitResponse(
                    streamID: stream.id,
                    headers: allowed ? cors.preflightHeaders(origin: origin) : [(":status", "403")],
                    body: false)
                return
            }
        }
        if method == "GET" || method == "HEAD", let site = limits.site {
            return serveFile(stream, site: site, path: path, head: method == "HEAD")
        }
        guard method == "POST" else {
            respond(stream, headers: [(":status", "405")], body: false)
            return
        }
        guard let wire = CallWire(contentType: contentType) else {
            respond(
                stream, headers: [(":status", "415"), ("content-type", "text/plain")], body: false)
            return
        }
        stream.wire = wire
        if wire.json, let method = executor.router.methods[path] {
            // A method without a JSON mapping (an unknown one is answered by the executor).
            guard let json = method.json else {
                respond(
                    stream, headers: [(":status", "415"), ("content-type", "text/plain")], body: false)
                return
            }
            stream.transcoder = json
        }
        // Connect names its compression and deadline headers its own way.
        let encodingHeader =
            wire.kind == .connectUnary
            ? "content-encoding" : wire.isConnect ? "connect-content-encoding" : "grpc-encoding"
        if let encoding = wire.kind == .connectUnary ? contentEncoding : wire.isConnect ? connectEncoding : encoding,
            encoding != "identity"
        {
            guard encoding == "gzip" else {
                let status = Status(.unimplemented, "\(encodingHeader) \(encoding) is not supported")
                if wire.isConnect { return finishCall(stream.id, status, Metadata()) }
                respond(
                    stream,
                    headers: Self.trailersOnly(status, Metadata(), wire: wire) + [
                        ("grpc-accept-encoding", Self.acceptEncoding)
                    ], body: false)
                return
            }
            stream.gzip = true
        }
        var deadline: ContinuousClock.Instant?
        if let timeout = wire.isConnect ? connectTimeout : timeout {
            guard let d = wire.isConnect ? Connect.timeout(timeout) : GRPCTimeout.parse(timeout) else {
                let header = wire.isConnect ? "connect-timeout-ms" : "grpc-timeout"
                let status = Status(wire.isConnect ? .invalidArgument : .internal, "invalid \(header) \(timeout)")
                if wire.isConnect { return finishCall(stream.id, status, Metadata()) }
                respond(
                    stream, headers: Self.trailersOnly(status, Metadata(), wire: wire), body: false)
                return
            }
            deadline = .now + d
        }
        stream.path = path
        let context = ServerContext(
            path: path, metadata: Metadata.fromHeaderFields(stream.headers), deadline: deadline, peer: peer)
        stream.headers = []
        if let handler = executor.inlineHandler(for: path) {
            return startInline(stream, handler: handler, context: context)
        }
        let id = stream.id
        // Strong, as the call's Outbound is: a handler keeps its connection object (not
        // the socket) until it ends; a weak reference would slow every retain of it.
        let requests = RequestStream { [self] bytes in
            loop.execute { self.consumed(streamID: id, bytes: bytes) }
        }
        stream.requests = requests
        let outbound = Outbound(connection: self, streamID: id, transcode: stream.transcoder?.response)
        stream.task = executor.start(context: context, requests: requests, outbound: outbound)
    }

    /// A GET of the static site: the file, whole (they are small and in memory), or 404.
    func serveFile(_ stream: Stream, site: StaticSite, path: String, head: Bool) {
        stream.wire = CallWire(kind: .plain)
        stream.responseStarted = true
        stream.finish = (Status(.ok), Metadata())
        let file = site.file(for: path)
        let body = file?.body ?? Array("not found\n".utf8)
        let headers =
            [
                (":status", file == nil ? "404" : "200"),
                ("content-type", file?.contentType ?? CallWire(kind: .plain).contentType),
                ("content-length", String(body.count)), ("cache-control", "no-cache"),
            ] + site.headers
        guard !head else { return respond(stream, headers: headers, body: false) }
        stream.pending.append(body)
        queuedBytes += body.count
        respond(stream, headers: headers, body: true)
    }

    /// The handler took `bytes` of request: give back held window credit.
    func consumed(streamID: Int32, bytes: Int) {
        guard let stream = streams[streamID] else { return }
        stream.unreadBytes -= bytes
        if stream.heldCredit > 0 && stream.unreadBytes < limits.receiveHighWater {
            session.consume(streamID: streamID, bytes: stream.heldCredit)
            stream.heldCredit = 0
            flush()
        }
    }

    /// Queues a framed response message; `ready` resumes when the handler may send more.
    func enqueue(_ streamID: Int32, _ frame: [UInt8], _ ready: CheckedContinuation<Void, any Error>) {
        guard let stream = streams[streamID], stream.finish == nil, !closed else {
            ready.resume(throwing: RPCError(.cancelled, "the call has ended"))
            return
        }
        queue(frame, on: stream)
        if stream.wire.kind == .connectUnary {
            // Sent with the status at the end (finishCall): nothing to wait for.
            release(stream)
            ready.resume()
            return
        }
        if stream.reserved {
            // The room was kept for this message: the next awaitCapacity does the waiting,
            // so the handler lets go of what it built the message from now.
            release(stream)
            ready.resume()
            grantCapacity()
        } else if stream.pending.byteCount > limits.sendHighWater {
            stream.sendWaiters.append(ready)
        } else {
            ready.resume()
        }
        scheduleFlush()
    }

    /// The call's last message and its OK end together (`finish(sending:)`).
    func finish(_ streamID: Int32, sending frame: [UInt8], trailers: Metadata) {
        guard let stream = streams[streamID], stream.finish == nil, !closed else { return }
        queue(frame, on: stream)
        finishCall(streamID, .ok, trailers)
    }

    /// Puts a framed message on the stream's queue in its wire's form, and starts the
    /// response (or resumes its body).
    private func queue(_ frame: [UInt8], on stream: Stream) {
        switch stream.wire.kind {
        case .connectUnary:
            // The bare message, answered with the status at the end (finishCall).
            stream.pending.append(Array(frame.dropFirst(5)))
            queuedBytes += frame.count - 5
        case .grpcWebText:
            let text = GRPCWeb.text(frame)
            stream.pending.append(text)
            queuedBytes += text.count
            startOrResume(stream)
        default:
            stream.pending.append(frame)
            queuedBytes += frame.count
            startOrResume(stream)
        }
    }

    func finishCall(_ streamID: Int32, _ status: Status, _ trailers: Metadata) {
        guard let stream = streams[streamID], stream.finish == nil else { return }
        stream.finish = (status, trailers)
        takeInline(stream)  // ended before its request was whole (an error, its deadline)
        pingStrikes = 0
        // Room kept for a message never sent goes to the others (and a waiter of this
        // stream's, if any, learns the call has ended).
        release(stream)
        grantCapacity()
        if stream.wire.kind == .connectUnary {
            // The status decides the HTTP status; an error is a JSON body in place of
            // the message. Trailers go out as `trailer-` headers.
            stream.responseStarted = true
            var headers = [(":status", String(Connect.httpStatus(status.code)))]
            if status.code == .ok {
                headers.append(("content-type", stream.wire.contentType))
            } else {
                queuedBytes -= stream.pending.byteCount
                stream.pending = OutboundMessages()
                let json = Array(Connect.errorJSON(status).utf8)
                stream.pending.append(json)
                queuedBytes += json.count
                headers.append(("content-type", "application/json"))
            }
            // The whole body is known: its length spares HTTP/1.1 clients chunked decoding.
            headers.append(("content-length", String(stream.pending.byteCount)))
            headers += trailers.headerFields().map { ("trailer-" + $0.0, $0.1) }
            respond(stream, headers: headers, body: !stream.pending.isEmpty)
        } else if stream.wire.kind == .connectStream {
            let trailerFields = trailers.headerFields()
            let envelope = Connect.endOfStream(status, trailers: trailerFields)
            stream.pending.append(envelope)
            queuedBytes += envelope.count
            startOrResume(stream)
        } else if !stream.responseStarted {
            stream.responseStarted = true
            respond(
                stream, headers: Self.trailersOnly(status, trailers, wire: stream.wire), body: false)
        } else if stream.wire.isGRPCWeb {
            // gRPC-Web: the trailers are the body's last envelope.
            let envelope = GRPCWeb.trailerEnvelope(Self.trailerFields(status, trailers))
            let bytes = stream.wire.kind == .grpcWebText ? GRPCWeb.text(envelope) : envelope
            stream.pending.append(bytes)
            queuedBytes += bytes.count
            if stream.deferred {
                stream.deferred = false
                session.resumeData(streamID: streamID)
            }
        } else if stream.deferred {
            stream.deferred = false
            session.resumeData(streamID: streamID)
        }
        scheduleFlush()
    }

    /// Submits a response's HEADERS for `stream`, with its CORS headers when a page of
    /// an allowed origin made the call.
    func respond(_ stream: Stream, headers: [(String, String)], body: Bool) {
        session.submitResponse(
            streamID: stream.id, headers: stream.cors.isEmpty ? headers : headers + stream.cors, body: body)
    }

    func startOrResume(_ stream: Stream) {
        if !stream.responseStarted {
            stream.responseStarted = true
            pingStrikes = 0
            respond(
                stream,
                headers: [
                    (":status", "200"), ("content-type", stream.wire.contentType),
                    ("grpc-accept-encoding", Self.acceptEncoding),
                ], body: true)
        } else if stream.deferred {
            stream.deferred = false
            session.resumeData(streamID: stream.id)
        }
    }

    /// A transport-detected error: the handler is told through its request stream and
    /// the call ends with `status`.
    func failCall(_ stream: Stream, _ status: Status) {
        finishCall(stream.id, status, Metadata())
        stream.task?.cancel()
    }

    func endStream(_ stream: Stream, error: RPCError) {
        queuedBytes -= stream.pending.byteCount
        release(stream)
        takeInline(stream)  // reset before its request was whole: it never runs
        stream.requests?.finish(error)
        stream.task?.cancel()
        for w in stream.sendWaiters { w.resume(throwing: error) }
        stream.sendWaiters.removeAll()
    }

    /// The message encodings this server accepts.
    static let acceptEncoding = "identity,gzip"

    static func trailerFields(_ status: Status, _ trailers: Metadata) -> [(String, String)] {
        if status.code == .ok && status.message.isEmpty && trailers.isEmpty { return okTrailerFields }
        var fields = [("grpc-status", String(status.code.rawValue))]
        if !status.message.isEmpty { fields.append(("grpc-message", StatusMessageCoding.encode(status.message))) }
        fields += trailers.headerFields()
        return fields
    }

    /// The trailers of most calls, made once rather than an array a call.
    private static let okTrailerFields = [("grpc-status", "0")]

    static func trailersOnly(_ status: Status, _ trailers: Metadata, wire: CallWire = .grpc) -> [(String, String)] {
        [(":status", "200"), ("content-type", wire.contentType)] + trailerFields(status, trailers)
    }

    /// The handler's view of its response stream.
    struct Outbound: ServerCallOutbound {
        let connection: H2ServerConnection
        let streamID: Int32
        /// Binary to the call's codec (JSON), on the handler's task.
        let transcode: (@Sendable ([UInt8]) throws(RPCError) -> [UInt8])?

        func send(_ message: [UInt8]) async throws {
            let frame = MessageFramer.frame(try transcode?(message) ?? message)
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                connection.loop.execute { connection.enqueue(streamID, frame, c) }
            }
        }

        func awaitCapacity() async throws {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                connection.loop.execute { connection.awaitCapacity(streamID, c) }
            }
        }

        func finish(_ status: Status, trailers: Metadata) async {
            connection.loop.execute { connection.finishCall(streamID, status, trailers) }
        }

        func finish(sending message: [UInt8], trailers: Metadata) async throws {
            let frame = MessageFramer.frame(try transcode?(message) ?? message)
            connection.loop.execute { connection.finish(streamID, sending: frame, trailers: trailers) }
        }
    }
}
