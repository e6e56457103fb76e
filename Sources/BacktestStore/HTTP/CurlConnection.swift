internal import CCurl
import Foundation

/// One kept-alive HTTP/1.1 connection through libcurl's easy interface: the thin,
/// safe wrapper every HTTP exchange of the store goes through. libcurl reads
/// responses by the RFC (a 204 ends at its headers, chunked bodies, keep-alive
/// reuse of the connection across requests, reconnects when the server closed it).
///
/// Not thread-safe: one request at a time, from one thread at a time; a pool hands a
/// connection to one request and takes it back after.
final class CurlConnection: @unchecked Sendable {
    struct Response: Sendable {
        var status: Int
        var body: [UInt8]
    }

    /// A request that got no HTTP answer (refused, reset, timed out); libcurl's words.
    struct TransportFailure: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    private let handle: UnsafeMutableRawPointer
    private var headers: UnsafeMutablePointer<curl_slist>?
    /// The body of the answer being read; the write callback appends to it.
    private let sink = Sink()

    private final class Sink {
        var bytes: [UInt8] = []
        /// Bodies beyond this are cut (QuestDB's error JSON is small; a runaway answer is not kept).
        let limit = 1 << 20
    }

    /// Every request gets `timeout` seconds, plus a second per `bytesPerSecond` of its body
    /// (a large body takes longer to send and for QuestDB to take in).
    private let timeout: Double
    private let bytesPerSecond = 4.0 * 1024 * 1024

    init(timeout: Double) throws(TransportFailure) {
        guard Self.globalInit, let handle = curl_easy_init() else {
            throw TransportFailure(description: "libcurl could not be initialised")
        }
        self.handle = handle
        self.timeout = timeout
        // No signals from libcurl in a multi-threaded process.
        ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(handle, CURLOPT_TCP_NODELAY, 1)
        ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(timeout * 1000)))
        // QuestDB never answers `Expect: 100-continue`; curl would wait a second for it.
        headers = curl_slist_append(nil, "Expect:")
        headers = curl_slist_append(headers, "Content-Type: text/plain; charset=utf-8")
        ccurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeRawPointer(headers))
        ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, UnsafeRawPointer(Unmanaged.passUnretained(sink).toOpaque()))
        ccurl_setopt_write_function(handle) { data, size, count, context in
            let sink = Unmanaged<Sink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            if let data, sink.bytes.count < sink.limit {
                let keep = min(n, sink.limit - sink.bytes.count)
                data.withMemoryRebound(to: UInt8.self, capacity: keep) {
                    sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: keep))
                }
            }
            return n
        }
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headers)
    }

    /// POSTs `body` to `url`; the body is sent from the caller's memory, not copied.
    func post(_ url: String, body: UnsafeRawBufferPointer) throws(TransportFailure) -> Response {
        ccurl_setopt_long(handle, CURLOPT_POST, 1)
        ccurl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        // An empty body still needs a valid pointer, or curl reads from a callback.
        ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, body.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)
        return try perform(url, seconds: timeout + Double(body.count) / bytesPerSecond)
    }

    func get(_ url: String) throws(TransportFailure) -> Response {
        ccurl_setopt_long(handle, CURLOPT_HTTPGET, 1)
        return try perform(url, seconds: timeout)
    }

    private func perform(_ url: String, seconds: Double) throws(TransportFailure) -> Response {
        sink.bytes.removeAll(keepingCapacity: true)
        ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(seconds * 1000)))
        ccurl_setopt_pointer(handle, CURLOPT_URL, url)
        let code = curl_easy_perform(handle)
        // The body pointer is the caller's: never leave it behind in the handle.
        ccurl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
        guard code == CURLE_OK else {
            var osErrno = 0
            ccurl_os_errno(handle, &osErrno)
            // "timed out" in our words, whatever libcurl's wording of the version at hand.
            let reason = code == CURLE_OPERATION_TIMEDOUT ? "timed out" : String(cString: curl_easy_strerror(code))
            throw TransportFailure(
                description: osErrno != 0 ? "\(reason) (\(String(cString: strerror(Int32(osErrno)))))" : reason)
        }
        var status = 0
        ccurl_response_code(handle, &status)
        return Response(status: status, body: sink.bytes)
    }
}
