/// One connection's protocol engine, as the connection drives it: bytes in
/// (`receive`), bytes out (`send`), responses submitted by stream. HTTP/2 is nghttp2's
/// (`NGHTTP2Session`); HTTP/1.1 is `HTTP1Session`, which presents each request as a
/// stream so the server's calls, limits and protocols work the same over both.
/// Not thread-safe: the connection's event loop calls every method.
protocol WireSession: AnyObject {
    /// Feeds received bytes; a protocol violation is an error (an answer saying so
    /// may be queued: flush, then close).
    func receive(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError)
    /// Serialises pending output; `write` takes each chunk and returns false to stop.
    func send(_ write: (UnsafeRawBufferPointer) -> Bool) throws(ProtocolError)
    /// Neither wants to read nor to write: the connection is done.
    var wantsRead: Bool { get }
    var wantsWrite: Bool { get }
    /// Input must wait (the reader of a request body is behind, or a pipelined request
    /// waits for the response before it): the connection stops reading until it clears.
    var readPaused: Bool { get }
    /// The protocol can ask the peer for a sign of life (an HTTP/2 PING); HTTP/1.1
    /// cannot, so keepalive does not apply to it.
    var canPing: Bool { get }
    /// Response headers (`:status` first); with `body`, the body comes from the
    /// delegate's `sessionReadData`, without it the response ends with its headers.
    func submitResponse(streamID: Int32, headers: [(String, String)], body: Bool)
    func resumeData(streamID: Int32)
    /// The reader took `bytes` of a stream's request body (flow control).
    func consume(streamID: Int32, bytes: Int)
    func consumeConnection(bytes: Int)
    /// Graceful shutdown, first step: no new requests after those under way.
    func submitShutdownNotice()
    /// The final word: requests not yet started are not served.
    func submitGoaway(errorCode: UInt32)
    func submitGoaway(errorCode: UInt32, debugData: String)
    func submitPing()
    /// Ends the session now (nothing more is read or written once this is sent).
    func terminate(errorCode: UInt32)
}

/// A protocol violation reported by a session.
struct ProtocolError: Error, CustomStringConvertible {
    var code: Int32
    var description: String
}

/// What a session reports, on its connection's loop, while it parses input. A
/// request's (or response's) header block is announced, its fields given one by one,
/// then completed.
protocol WireSessionDelegate: AnyObject {
    /// A header block begins. False refuses the stream it would open: it is reset
    /// with REFUSED_STREAM, and its fields are decoded but not given.
    func sessionBeginHeaders(streamID: Int32) -> Bool
    func sessionHeader(streamID: Int32, name: String, value: String)
    /// The block's fields passed the header list limit; the rest of them are
    /// decoded (HPACK state is per connection) but not given.
    func sessionHeaderListTooLarge(streamID: Int32)
    func sessionHeadersComplete(streamID: Int32, endStream: Bool)
    func sessionData(streamID: Int32, bytes: UnsafeRawBufferPointer)
    /// The peer's side of the stream ended.
    func sessionEndStream(streamID: Int32)
    func sessionStreamClosed(streamID: Int32, errorCode: UInt32)
    /// The peer's SETTINGS arrived (HTTP/2), or its first request (HTTP/1.1): the
    /// connection is established.
    func sessionSettingsReceived()
    /// The peer sent a PING (nghttp2 has answered it).
    func sessionPingReceived()
    /// Fill `buffer` with the stream's next body bytes.
    func sessionReadData(streamID: Int32, into buffer: UnsafeMutableRawBufferPointer) -> BodyRead
}

/// A delegate's answer to `sessionReadData`.
enum BodyRead {
    /// `count` bytes written; with `end`, the body ends there.
    case data(count: Int, end: BodyEnd?)
    /// Nothing to send now; `resumeData` when there is.
    case deferred
}

enum BodyEnd {
    /// The stream's side ends with this data (a client's request; a body without trailers).
    case endStream
    /// Trailers follow and end the stream (a gRPC response).
    case trailers([(String, String)])
}
