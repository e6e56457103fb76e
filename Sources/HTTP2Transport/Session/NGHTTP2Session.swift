internal import CNGHTTP2

#if canImport(Glibc)
    import Glibc
#endif

/// The only owner of an `nghttp2_session` and its callbacks: frees them in deinit
/// and exposes a Swift API. Not thread-safe, like nghttp2 itself: one serial
/// executor calls every method (the connection's queue).
final class NGHTTP2Session: WireSession {
    struct Settings {
        var maxConcurrentStreams: UInt32 = 100
        var initialWindowSize: UInt32 = 1 << 20
        var connectionWindowSize: Int32 = 16 << 20
        var maxHeaderListSize: UInt32 = 16 << 10
        var maxFrameSize: UInt32 = 16_384
        /// Rapid Reset (CVE-2023-44487): RST_STREAM tokens and refill per second.
        var streamResetBurst: UInt64 = 1000
        var streamResetRate: UInt64 = 33
        /// CONTINUATION flood: frames allowed after one HEADERS.
        var maxContinuations: Int = 8
    }

    /// HTTP/2 error codes (RFC 9113 section 7).
    static let noError: UInt32 = 0
    static let protocolError: UInt32 = 1
    static let refusedStream: UInt32 = 7
    static let cancel: UInt32 = 8
    static let enhanceYourCalm: UInt32 = 11

    private var session: OpaquePointer?
    /// The connection that owns this session; it outlives the session and is the only
    /// caller of the methods that call back. Not weak: a weak reference gives the
    /// connection a side table, which puts every retain and release of it (several
    /// per call) on Swift's slow path.
    unowned(unsafe) var delegate: (any WireSessionDelegate)?
    private let maxHeaderListSize: Int
    /// The size of the header block being received (RFC 9113 6.5.2: names, values and
    /// 32 per field), and whether it passed the limit. Blocks never interleave
    /// (CONTINUATION frames follow their HEADERS), so one is enough.
    private var headerBlock = (size: 0, tooLarge: false)
    /// Header names and values over 15 bytes decoded lately (Swift keeps shorter ones
    /// inline, without an allocation). A connection repeats its path, content-type and
    /// user-agent on every call: reusing the String saves an allocation each.
    private var recentStrings: [String] = []
    private var nextRecent = 0
    /// A server's SETTINGS_MAX_CONCURRENT_STREAMS, written into its first SETTINGS
    /// frame on the way out (see `init`); nil once sent.
    private var advertisedStreamLimit: UInt32?

    /// A server session.
    convenience init(serverWith settings: Settings) {
        self.init(settings: settings, server: true)
    }

    /// A client session; the caller writes the connection preface through `send`.
    convenience init(clientWith settings: Settings) {
        self.init(settings: settings, server: false)
    }

    private init(settings: Settings, server: Bool) {
        maxHeaderListSize = Int(settings.maxHeaderListSize)
        var callbacks: OpaquePointer?
        nghttp2_session_callbacks_new(&callbacks)
        defer { nghttp2_session_callbacks_del(callbacks) }
        Self.install(callbacks)

        var option: OpaquePointer?
        nghttp2_option_new(&option)
        defer { nghttp2_option_del(option) }
        // Inbound flow control is ours: the window reopens as handlers read.
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_max_send_header_block_length(option, 64 << 10)
        nghttp2_option_set_stream_reset_rate_limit(option, settings.streamResetBurst, settings.streamResetRate)
        nghttp2_option_set_max_continuations(option, settings.maxContinuations)
        // Closed streams are kept only for RFC 7540 priorities, which gRPC does not use;
        // with the server's stream limit unknown to nghttp2 (below) they would pile up.
        nghttp2_option_set_no_closed_streams(option, 1)

        var s: OpaquePointer?
        if server {
            nghttp2_session_server_new2(&s, callbacks, nil, option)
        } else {
            nghttp2_session_client_new2(&s, callbacks, nil, option)
        }
        session = s
        nghttp2_session_set_user_data(session, Unmanaged.passUnretained(self).toOpaque())

        // nghttp2 makes a stream beyond its acknowledged MAX_CONCURRENT_STREAMS a
        // connection error (GOAWAY PROTOCOL_ERROR, by design: nghttp2 issue 687), which
        // ends every call on the connection; gRPC servers refuse just that stream, and
        // the client retries it. So a server's nghttp2 gets no limit of its own: the
        // frame says "unlimited" to nghttp2 and carries the real limit to the peer
        // (written in by `send`), and the delegate refuses the excess streams.
        if server { advertisedStreamLimit = settings.maxConcurrentStreams }
        var entries = [
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: server ? UInt32.max : settings.maxConcurrentStreams),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: settings.initialWindowSize),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: settings.maxHeaderListSize),
            nghttp2_settings_entry(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue), value: settings.maxFrameSize),
        ]
        nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), &entries, entries.count)
        nghttp2_session_set_local_window_size(
            session, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, settings.connectionWindowSize)
    }

    deinit {
        nghttp2_session_del(session)
    }

    /// Feeds received bytes; a protocol violation is an error (nghttp2 has queued
    /// the GOAWAY where the protocol calls for one).
    func receive(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let rv = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if rv < 0 { throw Self.error(Int32(rv)) }
    }

    /// Serialises pending frames; `write` takes each chunk and returns false to stop
    /// (the socket is full: the chunk it was given is kept by the caller).
    func send(_ write: (UnsafeRawBufferPointer) -> Bool) throws(ProtocolError) {
        while true {
            var data: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &data)
            if n < 0 { throw Self.error(Int32(n)) }
            if n == 0 { return }
            let chunk = UnsafeRawBufferPointer(start: data, count: n)
            if let limit = advertisedStreamLimit, var frame = Self.settingsFrame(chunk) {
                // The server's SETTINGS (its first frame): the limit goes in on its way out.
                advertisedStreamLimit = nil
                Self.set(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, to: limit, in: &frame)
                if !frame.withUnsafeBytes(write) { return }
                continue
            }
            if !write(chunk) { return }
        }
    }

    /// A copy of `chunk` when it starts with a whole SETTINGS frame that is not an ACK.
    private static func settingsFrame(_ chunk: UnsafeRawBufferPointer) -> [UInt8]? {
        guard chunk.count >= 9, chunk[3] == UInt8(NGHTTP2_SETTINGS.rawValue), chunk[4] == 0 else { return nil }
        let length = Int(chunk[0]) << 16 | Int(chunk[1]) << 8 | Int(chunk[2])
        return chunk.count >= 9 + length && length % 6 == 0 ? Array(chunk) : nil
    }

    /// Rewrites a setting's value in a serialized SETTINGS frame.
    private static func set(_ id: nghttp2_settings_id, to value: UInt32, in frame: inout [UInt8]) {
        let length = Int(frame[0]) << 16 | Int(frame[1]) << 8 | Int(frame[2])
        for entry in stride(from: 9, to: 9 + length, by: 6)
        where UInt32(frame[entry]) << 8 | UInt32(frame[entry + 1]) == id.rawValue {
            for i in 0..<4 { frame[entry + 2 + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * i)) }
        }
    }

    /// The peer's SETTINGS_MAX_HEADER_LIST_SIZE (unlimited until it says otherwise).
    var peerMaxHeaderListSize: Int {
        Int(nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE))
    }

    private static func error(_ code: Int32) -> ProtocolError {
        ProtocolError(code: code, description: String(cString: nghttp2_strerror(code)))
    }

    var wantsRead: Bool { nghttp2_session_want_read(session) != 0 }
    /// nghttp2 flow-controls input itself (window credit): reading never waits.
    var readPaused: Bool { false }
    var canPing: Bool { true }
    var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    /// Response headers; with `body`, DATA comes from the delegate's `sessionReadData`,
    /// without it the HEADERS frame ends the stream (a trailers-only response).
    func submitResponse(streamID: Int32, headers: [(String, String)], body: Bool) {
        Self.withNameValues(headers) { nva, count in
            if body {
                var provider = nghttp2_data_provider(
                    source: nghttp2_data_source(ptr: nil), read_callback: Self.readCallback)
                _ = nghttp2_submit_response(session, streamID, nva, count, &provider)
            } else {
                _ = nghttp2_submit_response(session, streamID, nva, count, nil)
            }
        }
    }

    /// Opens a stream with request headers; its body comes from `sessionReadData`.
    /// Returns the stream id, or nil when no stream can be opened (GOAWAY received,
    /// ids exhausted).
    func submitRequest(headers: [(String, String)]) -> Int32? {
        Self.withNameValues(headers) { nva, count in
            var provider = nghttp2_data_provider(
                source: nghttp2_data_source(ptr: nil), read_callback: Self.readCallback)
            let id = nghttp2_submit_request(session, nil, nva, count, &provider, nil)
            return id > 0 ? id : nil
        }
    }

    func resumeData(streamID: Int32) {
        _ = nghttp2_session_resume_data(session, streamID)
    }

    /// Reopens the flow-control windows for bytes a stream's reader has taken.
    func consume(streamID: Int32, bytes: Int) {
        guard bytes > 0 else { return }
        if nghttp2_session_consume(session, streamID, bytes) != 0 {
            _ = nghttp2_session_consume_connection(session, bytes)
        }
    }

    func consumeConnection(bytes: Int) {
        if bytes > 0 { _ = nghttp2_session_consume_connection(session, bytes) }
    }

    /// Whether the stream's HEADERS have gone out (a request may wait in nghttp2's
    /// queue while the peer's concurrent-stream limit is reached).
    func hasStarted(streamID: Int32) -> Bool {
        guard let stream = nghttp2_session_find_stream(session, streamID) else { return false }
        return nghttp2_stream_get_state(stream) != NGHTTP2_STREAM_STATE_IDLE
    }

    /// The stream's HTTP/2 state as nghttp2 has it (for tests' reports of streams left open).
    func streamState(streamID: Int32) -> String {
        guard let stream = nghttp2_session_find_stream(session, streamID) else { return "unknown to nghttp2" }
        switch nghttp2_stream_get_state(stream) {
        case NGHTTP2_STREAM_STATE_IDLE: return "idle"
        case NGHTTP2_STREAM_STATE_OPEN: return "open"
        case NGHTTP2_STREAM_STATE_HALF_CLOSED_LOCAL: return "half-closed (local)"
        case NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE: return "half-closed (remote)"
        case NGHTTP2_STREAM_STATE_CLOSED: return "closed"
        default: return "reserved"
        }
    }

    func resetStream(streamID: Int32, errorCode: UInt32) {
        _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID, errorCode)
    }

    /// The first step of a graceful shutdown: GOAWAY with the maximum stream id.
    func submitShutdownNotice() {
        _ = nghttp2_submit_shutdown_notice(session)
    }

    /// The final GOAWAY: streams above the last processed one will not be served.
    func submitGoaway(errorCode: UInt32) {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode, nil, 0)
    }

    /// A PING the peer must answer (keepalive).
    func submitPing() {
        _ = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), nil)
    }

    func terminate(errorCode: UInt32) {
        _ = nghttp2_session_terminate_session(session, errorCode)
    }

    /// A GOAWAY with debug data (gRPC clients read "too_many_pings" and slow their
    /// keepalive); unlike `terminate`, nghttp2 does not close after it: the caller does.
    func submitGoaway(errorCode: UInt32, debugData: String) {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        var bytes = Array(debugData.utf8)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, errorCode, &bytes, bytes.count)
    }

    // MARK: C callbacks: capture nothing, find the session through user_data.

    private static func install(_ cbs: OpaquePointer?) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs) { _, frame, user in
            guard let frame, frame.pointee.hd.type == CNGHTTP2_HEADERS else { return 0 }
            let me = sessionOwner(user)
            let id = frame.pointee.hd.stream_id
            me.headerBlock = (0, false)
            guard me.delegate?.sessionBeginHeaders(streamID: id) ?? true else {
                // The reset is queued first, so the one nghttp2 adds for a temporal
                // failure is dropped (the stream is closing); the block is then skipped.
                _ = nghttp2_submit_rst_stream(
                    me.session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, NGHTTP2Session.refusedStream)
                return Int32(CNGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_header_callback(cbs) {
            _, frame, name, nameLength, value, valueLength, _, user in
            guard let frame, frame.pointee.hd.type == CNGHTTP2_HEADERS else { return 0 }
            let me = sessionOwner(user)
            let id = frame.pointee.hd.stream_id
            // Counted before anything is copied: a small block can name a large table
            // entry thousands of times (HPACK amplification).
            guard !me.headerBlock.tooLarge else { return 0 }
            me.headerBlock.size += nameLength + valueLength + 32
            if me.headerBlock.size > me.maxHeaderListSize {
                me.headerBlock.tooLarge = true
                me.delegate?.sessionHeaderListTooLarge(streamID: id)
                return 0
            }
            let n = me.decodeHeader(UnsafeBufferPointer(start: name, count: nameLength))
            let v = me.decodeHeader(UnsafeBufferPointer(start: value, count: valueLength))
            me.delegate?.sessionHeader(streamID: id, name: n, value: v)
            return 0
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs) { _, frame, user in
            guard let frame else { return 0 }
            let id = frame.pointee.hd.stream_id
            let endStream = frame.pointee.hd.flags & CNGHTTP2_FLAG_END_STREAM != 0
            let delegate = sessionOwner(user).delegate
            if frame.pointee.hd.type == CNGHTTP2_PING && frame.pointee.hd.flags & CNGHTTP2_FLAG_ACK == 0 {
                delegate?.sessionPingReceived()
            } else if frame.pointee.hd.type == CNGHTTP2_SETTINGS && frame.pointee.hd.flags & CNGHTTP2_FLAG_ACK == 0 {
                delegate?.sessionSettingsReceived()
            } else if frame.pointee.hd.type == CNGHTTP2_HEADERS {
                delegate?.sessionHeadersComplete(streamID: id, endStream: endStream)
            } else if endStream && frame.pointee.hd.type == CNGHTTP2_DATA {
                delegate?.sessionEndStream(streamID: id)
            }
            return 0
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs) { _, _, id, data, length, user in
            // The pointer is into nghttp2's input buffer: the delegate copies.
            sessionOwner(user).delegate?.sessionData(
                streamID: id, bytes: UnsafeRawBufferPointer(start: data, count: length))
            return 0
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs) { _, id, errorCode, user in
            sessionOwner(user).delegate?.sessionStreamClosed(streamID: id, errorCode: errorCode)
            return 0
        }
    }

    private static let readCallback: nghttp2_data_source_read_callback = { session, id, buf, length, flags, _, user in
        let me = sessionOwner(user)
        guard let delegate = me.delegate, let buf, let flags else { return Int(CNGHTTP2_ERR_CALLBACK_FAILURE) }
        switch delegate.sessionReadData(streamID: id, into: UnsafeMutableRawBufferPointer(start: buf, count: length)) {
        case .deferred:
            return Int(CNGHTTP2_ERR_DEFERRED)
        case .data(let count, let end):
            switch end {
            case .endStream?:
                flags.pointee |= CNGHTTP2_DATA_FLAG_EOF
            case .trailers(let trailers)?:
                flags.pointee |= CNGHTTP2_DATA_FLAG_EOF | CNGHTTP2_DATA_FLAG_NO_END_STREAM
                NGHTTP2Session.withNameValues(trailers) { nva, n in _ = nghttp2_submit_trailer(session, id, nva, n) }
            case nil:
                break
            }
            return count
        }
    }

    /// A header field's text, the same String as a recent field with the same bytes.
    private func decodeHeader(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        guard bytes.count > 15, let start = bytes.baseAddress else { return String(decoding: bytes, as: UTF8.self) }
        for candidate in recentStrings where candidate.utf8.count == bytes.count {
            let same = candidate.utf8.withContiguousStorageIfAvailable {
                memcmp($0.baseAddress!, start, bytes.count) == 0
            }
            if same == true { return candidate }
        }
        let string = String(decoding: bytes, as: UTF8.self)
        if recentStrings.count < 8 {
            recentStrings.append(string)
        } else {
            recentStrings[nextRecent] = string
            nextRecent = (nextRecent + 1) % 8
        }
        return string
    }

    /// Builds `nghttp2_nv`s for the duration of `body` (nghttp2 copies them), in one
    /// temporary buffer (on the stack when it is small, as a call's headers are): every
    /// response and request goes through here, and growing arrays for it cost about ten
    /// allocations a call.
    static func withNameValues<R>(_ headers: [(String, String)], _ body: (UnsafeMutablePointer<nghttp2_nv>, Int) -> R)
        -> R
    {
        var textBytes = 0
        for (name, value) in headers { textBytes += name.utf8.count + value.utf8.count }
        let pairBytes = max(1, headers.count) * MemoryLayout<nghttp2_nv>.stride
        return withUnsafeTemporaryAllocation(
            byteCount: pairBytes + textBytes, alignment: MemoryLayout<nghttp2_nv>.alignment
        ) { raw in
            let base = raw.baseAddress!
            let nva = base.bindMemory(to: nghttp2_nv.self, capacity: max(1, headers.count))
            var text = (base + pairBytes).bindMemory(to: UInt8.self, capacity: textBytes)
            func copy(_ string: String) -> (UnsafeMutablePointer<UInt8>, Int) {
                var string = string
                let start = text
                let count = string.withUTF8 { utf8 in
                    if let from = utf8.baseAddress { start.update(from: from, count: utf8.count) }
                    return utf8.count
                }
                text += count
                return (start, count)
            }
            for (i, (name, value)) in headers.enumerated() {
                let (n, nl) = copy(name)
                let (v, vl) = copy(value)
                (nva + i).initialize(
                    to: nghttp2_nv(
                        name: n, value: v, namelen: nl, valuelen: vl, flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)))
            }
            return body(nva, headers.count)
        }
    }
}

/// The session whose `user_data` this is (a free function: C callbacks capture nothing).
private func sessionOwner(_ user: UnsafeMutableRawPointer?) -> NGHTTP2Session {
    Unmanaged<NGHTTP2Session>.fromOpaque(user!).takeUnretainedValue()
}
