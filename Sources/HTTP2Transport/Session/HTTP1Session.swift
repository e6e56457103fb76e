internal import CHTTPParser

/// HTTP/1.1 for a server connection, on http-parser: each request is presented to the
/// delegate as a stream (ids 1, 3, 5, ...) with HTTP/2's pseudo-headers, so the calls,
/// protocols (gRPC-Web, Connect), limits and errors are the HTTP/2 server's own.
///
/// One request at a time: a pipelined request waits, unparsed, for the response
/// before it. Response bodies of unknown length go chunked. A request body is
/// flow-controlled like an HTTP/2 stream's: past a window of unconsumed bytes, the
/// connection stops reading until the handler catches up.
final class HTTP1Session: WireSession {
    struct Limits {
        /// Header fields of a request, counted as HTTP/2 counts a header list (name,
        /// value and 32 bytes each); beyond it the call ends RESOURCE_EXHAUSTED.
        var maxHeaderListSize = 16 << 10
        /// Request body bytes the reader may be behind before input waits.
        var window = 1 << 20
        /// Input read ahead while a response is under way (a pipelined request, or a
        /// close to notice); beyond it reading waits.
        var readAhead = 64 << 10
    }

    /// The owning connection (unowned for the reason NGHTTP2Session's is).
    unowned(unsafe) var delegate: (any WireSessionDelegate)?
    private let limits: Limits
    private let parser: UnsafeMutablePointer<http_parser>
    private let bodyBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 << 10, alignment: 16)

    /// Input not parsed yet (from `heldStart`): what arrived while a request waits.
    private var held: [UInt8] = []
    private var heldStart = 0
    /// Inside `http_parser_execute`: callbacks must not parse again.
    private var parsing = false
    /// Output serialised and not yet taken by `send`.
    private var out: [UInt8] = []
    /// No more requests will be read, nor responses begun.
    private var done = false
    /// After the response under way, the connection closes (graceful shutdown).
    private var goingAway = false
    private var established = false
    private var nextID: Int32 = 1

    /// The request being parsed.
    private var url: [UInt8] = []
    private var fields: [(name: [UInt8], value: [UInt8])] = []
    private var inValue = false
    private var headerBytes = 0
    private var tooLarge = false

    /// The request and response under way.
    private struct Exchange {
        let id: Int32
        var keepAlive: Bool
        var head: Bool
        var requestDone = false
        var responseStarted = false
        var responseDone = false
        /// The response body is pulled from the delegate (`sessionReadData`).
        var bodyActive = false
        var deferred = false
        var chunked = false
        /// The response ended first: the rest of the request body is read and dropped.
        var discardBody = false
        /// Request body bytes the reader may still take before input waits.
        var window: Int
    }
    private var exchange: Exchange?
    /// The request waits for its response (pipelining), or its body for its reader.
    private var waitingForResponse = false
    private var waitingForWindow = false

    init(limits: Limits) {
        self.limits = limits
        parser = .allocate(capacity: 1)
        http_parser_init(parser, http_parser_type(rawValue: UInt32(CHTTP_REQUEST)))
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        parser.deallocate()
        bodyBuffer.deallocate()
    }

    // MARK: WireSession

    var wantsRead: Bool { !done }
    var wantsWrite: Bool { !out.isEmpty || (exchange.map { $0.bodyActive && !$0.deferred } ?? false) }
    var readPaused: Bool {
        !done && (waitingForWindow || (waitingForResponse && held.count - heldStart >= limits.readAhead))
    }
    var canPing: Bool { false }

    func receive(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard !done else { return }
        held.append(contentsOf: bytes)
        try process()
    }

    func send(_ write: (UnsafeRawBufferPointer) -> Bool) throws(ProtocolError) {
        while true {
            if !out.isEmpty {
                let more = out.withUnsafeBytes(write)
                out.removeAll(keepingCapacity: out.count <= 64 << 10)
                if !more { return }
            }
            guard let ex = exchange, ex.bodyActive, !ex.deferred, let delegate else { return }
            var more = true
            switch delegate.sessionReadData(streamID: ex.id, into: bodyBuffer) {
            case .deferred:
                exchange?.deferred = true
                return
            case .data(let count, let end):
                if count > 0 && !ex.head {
                    let data = UnsafeRawBufferPointer(rebasing: bodyBuffer[0..<count])
                    if ex.chunked {
                        _ = Array((String(count, radix: 16) + "\r\n").utf8).withUnsafeBytes(write)
                        _ = write(data)
                        more = Self.crlf.withUnsafeBytes(write)
                    } else {
                        more = write(data)
                    }
                }
                if let end {
                    exchange?.bodyActive = false
                    if ex.chunked && !ex.head {
                        var last = Array("0\r\n".utf8)
                        if case .trailers(let trailers) = end {
                            for (name, value) in trailers where Self.isSafe(name) && Self.isSafe(value) {
                                last += Array(name.utf8) + Array(": ".utf8) + Array(value.utf8) + Self.crlf
                            }
                        }
                        out += last + Self.crlf
                    }
                    responseEnded()
                }
            }
            if !more { return }
        }
    }

    func submitResponse(streamID: Int32, headers: [(String, String)], body: Bool) {
        guard var ex = exchange, ex.id == streamID, !ex.responseStarted else { return }
        ex.responseStarted = true
        let status = Int(headers.first(where: { $0.0 == ":status" })?.1 ?? "") ?? 500
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
        var hasLength = false
        for (name, value) in headers where !name.hasPrefix(":") && Self.isSafe(name) && Self.isSafe(value) {
            if name == "content-length" { hasLength = true }
            head += name + ": " + value + "\r\n"
        }
        let bodyless = status == 204 || status == 304 || (100..<200).contains(status)
        if body && !hasLength && !bodyless {
            head += "transfer-encoding: chunked\r\n"
            ex.chunked = true
        } else if !body && !hasLength && !bodyless {
            head += "content-length: 0\r\n"
        }
        if goingAway || !ex.keepAlive || nextID > Int32.max - 2 {
            ex.keepAlive = false
            head += "connection: close\r\n"
        }
        out += Array((head + "\r\n").utf8)
        ex.bodyActive = body
        exchange = ex
        if !body { responseEnded() }
    }

    func resumeData(streamID: Int32) {
        guard exchange?.id == streamID else { return }
        exchange?.deferred = false
    }

    func consume(streamID: Int32, bytes: Int) {
        guard exchange?.id == streamID, bytes > 0 else { return }
        exchange?.window += bytes
        if waitingForWindow, (exchange?.window ?? 1) > 0 {
            waitingForWindow = false
            try? process()  // an error queues its answer and ends the session itself
        }
    }

    func consumeConnection(bytes: Int) {}

    /// HTTP/1.1 has no notice: the GOAWAY does it all.
    func submitShutdownNotice() {}

    func submitGoaway(errorCode: UInt32) {
        goingAway = true
        // Between requests (a partial one is dropped): nothing more to do.
        if exchange == nil { done = true }
    }

    func submitGoaway(errorCode: UInt32, debugData: String) {
        submitGoaway(errorCode: errorCode)
    }

    func submitPing() {}

    func terminate(errorCode: UInt32) {
        done = true
        if let ex = exchange {
            exchange = nil
            delegate?.sessionStreamClosed(streamID: ex.id, errorCode: errorCode)
        }
    }

    // MARK: Parsing

    /// Parses held input until it runs out or a request must wait.
    private func process() throws(ProtocolError) {
        guard !parsing else { return }
        parsing = true
        defer {
            parsing = false
            if heldStart == held.count {
                held.removeAll(keepingCapacity: held.count <= 64 << 10)
                heldStart = 0
            }
        }
        while heldStart < held.count && !done && !waitingForResponse && !waitingForWindow {
            let n = held.withUnsafeBytes { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    withUnsafePointer(to: Self.settings) { settings in
                        http_parser_execute(parser, settings, chars.baseAddress! + heldStart, chars.count - heldStart)
                    }
                }
            }
            heldStart += n
            let error = chttp_errno(parser)
            if error == CHTTP_PAUSED {
                http_parser_pause(parser, 0)
                continue
            }
            if error != CHTTP_OK { try fail(error) }
            // An Upgrade request (h2c) is answered in HTTP/1.1 (RFC 9110 7.8): the
            // parser stops after it; what follows is the next request.
            if n == 0 { break }
        }
    }

    /// Malformed input: a 400 (431 for oversized headers) when no response is under
    /// way, then the connection ends.
    private func fail(_ error: Int32) throws(ProtocolError) {
        let name = String(cString: http_errno_name(http_errno(rawValue: UInt32(error))))
        let description = String(cString: http_errno_description(http_errno(rawValue: UInt32(error))))
        if exchange?.responseStarted != true {
            let status = error == CHTTP_HEADER_OVERFLOW ? 431 : 400
            let body = "bad HTTP/1.1 request: \(description)\n"
            out += Array(
                ("HTTP/1.1 \(status) \(Self.reason(status))\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    + "content-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n" + body).utf8)
        }
        terminate(errorCode: 1)
        throw ProtocolError(code: error, description: "\(name): \(description)")
    }

    /// The response has ended: the exchange ends with the request, or now if the
    /// request's body is still coming (its rest is then dropped).
    private func responseEnded() {
        guard var ex = exchange else { return }
        ex.responseDone = true
        if !ex.requestDone {
            ex.discardBody = true
            exchange = ex
            delegate?.sessionStreamClosed(streamID: ex.id, errorCode: 0)
            waitingForWindow = false
            try? process()  // the body's rest, dropped; an error ends the session itself
            return
        }
        exchange = nil
        waitingForResponse = false
        delegate?.sessionStreamClosed(streamID: ex.id, errorCode: 0)
        if !ex.keepAlive || goingAway {
            done = true
            return
        }
        try? process()  // a pipelined request, if one came; an error ends the session itself
    }

    private func messageBegin() {
        url.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        inValue = false
        headerBytes = 0
        tooLarge = false
    }

    /// Counts header bytes; past the limit the request's fields are no longer kept.
    private func count(_ n: Int) -> Bool {
        headerBytes += n
        if headerBytes > limits.maxHeaderListSize { tooLarge = true }
        return !tooLarge
    }

    private func url(_ bytes: UnsafeRawBufferPointer) {
        if count(bytes.count) { url.append(contentsOf: bytes) }
    }

    private func headerField(_ bytes: UnsafeRawBufferPointer) {
        if inValue || fields.isEmpty {
            inValue = false
            guard count(32) else { return }
            fields.append(([], []))
        }
        if count(bytes.count) { fields[fields.count - 1].name.append(contentsOf: bytes) }
    }

    private func headerValue(_ bytes: UnsafeRawBufferPointer) {
        inValue = true
        guard !fields.isEmpty, count(bytes.count) else { return }
        fields[fields.count - 1].value.append(contentsOf: bytes)
    }

    private func headersComplete() {
        guard let delegate else { return }
        let id = nextID
        nextID += 2
        exchange = Exchange(
            id: id, keepAlive: http_should_keep_alive(parser) != 0, head: chttp_is_head(parser) != 0,
            window: limits.window)
        if !established {
            established = true
            delegate.sessionSettingsReceived()
        }
        guard delegate.sessionBeginHeaders(streamID: id) else {
            return submitResponse(streamID: id, headers: [(":status", "503")], body: false)
        }
        if tooLarge {
            delegate.sessionHeaderListTooLarge(streamID: id)
        } else {
            let method = String(cString: http_method_str(http_method(rawValue: UInt32(chttp_method(parser)))))
            delegate.sessionHeader(streamID: id, name: ":method", value: method)
            delegate.sessionHeader(streamID: id, name: ":scheme", value: "http")
            delegate.sessionHeader(streamID: id, name: ":path", value: String(decoding: url, as: UTF8.self))
            var expectContinue = false
            for (rawName, rawValue) in fields {
                let name = String(decoding: rawName, as: UTF8.self).lowercased()
                let value = String(decoding: rawValue, as: UTF8.self)
                switch name {
                case "host": delegate.sessionHeader(streamID: id, name: ":authority", value: value)
                // Hop-by-hop: about this connection, not the call.
                case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te": break
                case "expect": expectContinue = value.lowercased() == "100-continue"
                default: delegate.sessionHeader(streamID: id, name: name, value: value)
                }
            }
            // The client waits for this before sending its body (curl, for large ones).
            if expectContinue { out += Array("HTTP/1.1 100 Continue\r\n\r\n".utf8) }
        }
        delegate.sessionHeadersComplete(streamID: id, endStream: false)
    }

    private func body(_ bytes: UnsafeRawBufferPointer) {
        guard let ex = exchange, !ex.discardBody else { return }
        exchange?.window -= bytes.count
        delegate?.sessionData(streamID: ex.id, bytes: bytes)
        if let window = exchange?.window, window <= 0 {
            waitingForWindow = true
            http_parser_pause(parser, 1)
        }
    }

    private func messageComplete() {
        guard var ex = exchange else { return }
        ex.requestDone = true
        exchange = ex
        if ex.responseDone {
            // The response went first; its stream has closed.
            exchange = nil
            if !ex.keepAlive || goingAway { done = true }
            http_parser_pause(parser, 1)  // resumed by `process` unless done
            return
        }
        delegate?.sessionEndStream(streamID: ex.id)
        // Answered and ended within sessionEndStream (an error found in the whole body)?
        guard let current = exchange, current.id == ex.id, !current.responseDone else { return }
        waitingForResponse = true
        http_parser_pause(parser, 1)
    }

    // MARK: C callbacks: capture nothing, find the session through the parser's data.

    private static func owner(_ p: UnsafeMutablePointer<http_parser>?) -> HTTP1Session {
        Unmanaged<HTTP1Session>.fromOpaque(p!.pointee.data).takeUnretainedValue()
    }

    private static func buffer(_ at: UnsafePointer<CChar>?, _ length: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: at, count: length)
    }

    private static let settings: http_parser_settings = {
        var s = http_parser_settings()
        s.on_message_begin = { p in
            owner(p).messageBegin()
            return 0
        }
        s.on_url = { p, at, length in
            owner(p).url(buffer(at, length))
            return 0
        }
        s.on_header_field = { p, at, length in
            owner(p).headerField(buffer(at, length))
            return 0
        }
        s.on_header_value = { p, at, length in
            owner(p).headerValue(buffer(at, length))
            return 0
        }
        s.on_headers_complete = { p in
            owner(p).headersComplete()
            return 0
        }
        s.on_body = { p, at, length in
            owner(p).body(buffer(at, length))
            return 0
        }
        s.on_message_complete = { p in
            owner(p).messageComplete()
            return 0
        }
        return s
    }()

    // MARK: Output

    private static let crlf: [UInt8] = [0x0D, 0x0A]

    /// No CR, LF or NUL: a header that cannot split the response.
    private static func isSafe(_ text: String) -> Bool {
        !text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 })
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 204: "No Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 499: "Client Closed Request"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status"
        }
    }
}
