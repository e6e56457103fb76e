import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sends ILP batches to QuestDB's `POST /write?precision=us` over a minimal HTTP/1.1
/// client on a POSIX socket (one request per connection: QuestDB commits per request,
/// and a fresh connection keeps the failure cases simple). Like the official clients
/// it retries 500/503/504/507/509/523/524/529/599 and connection failures with
/// backoff for up to `retryTimeout` seconds (at least one retry when it is above 0), never 4xx; tables are DEDUP UPSERT, so a
/// retried batch never duplicates rows. 4xx errors carry QuestDB's JSON message.
public final class ILPHTTPWriter: Sendable {
    public let host: String
    public let port: UInt16
    public let retryTimeout: Double
    public let requestTimeout: Double
    private static let retryable: Set<Int> = [500, 503, 504, 507, 509, 523, 524, 529, 599]

    /// `baseURL` like `http://127.0.0.1:9000`.
    public init(baseURL: String, retryTimeout: Double = 10, requestTimeout: Double = 30) throws {
        guard let url = URL(string: baseURL), url.scheme == "http", let host = url.host else {
            throw StoreError.invalid("QuestDB HTTP address \"\(baseURL)\" is not http://host:port")
        }
        self.host = host
        port = UInt16(url.port ?? 9000)
        self.retryTimeout = retryTimeout
        self.requestTimeout = requestTimeout
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    /// Writes one batch of ILP lines (one QuestDB transaction per table).
    public func write(_ lines: [UInt8]) async throws {
        let deadline = Date().addingTimeInterval(retryTimeout)
        var delay = 0.01
        var attempts = 0
        while true {
            attempts += 1
            // A thread of its own for the blocking request: Dispatch's global queue and
            // Swift's pool have a few threads per core, and a slow or silent server must
            // not hold one (a write is one batch, so a thread per request is cheap).
            let outcome: Result<Response, StoreError> = await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: Result { () throws(StoreError) -> Response in
                        try self.post(path: "/write?precision=us", body: lines)
                    })
                }
            }
            let failure: String
            switch outcome {
            case .success(let response) where response.status == 204 || response.status == 200:
                return
            case .success(let response) where Self.retryable.contains(response.status):
                failure = "HTTP \(response.status): \(Self.message(response.body))"
            case .success(let response) where (400..<500).contains(response.status):
                throw StoreError.invalid("QuestDB rejected the write (HTTP \(response.status)): \(Self.message(response.body))")
            case .success(let response):
                throw StoreError.failed("QuestDB answered HTTP \(response.status): \(Self.message(response.body))")
            case .failure(let error):
                failure = error.description
            }
            // With any retry budget, a retryable failure is retried at least once, even
            // when the first attempt itself used the budget up (a slow or busy machine).
            if Date().addingTimeInterval(delay) > deadline && (retryTimeout <= 0 || attempts >= 2) {
                throw StoreError.unavailable("QuestDB at \(host):\(port) failed \(attempts) attempt(s) over \(retryTimeout) s; last: \(failure)")
            }
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            delay = min(delay * 2, 1.0)
        }
    }

    /// QuestDB's error JSON (`{"code":...,"message":...,"line":N,"errorId":...}`) as text.
    static func message(_ body: [UInt8]) -> String {
        if let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let message = json["message"] as? String {
            var text = message
            if let line = json["line"] as? Int { text += " (line \(line))" }
            if let id = json["errorId"] as? String { text += " [errorId \(id)]" }
            return text
        }
        return String(decoding: body.prefix(500), as: UTF8.self)
    }

    // MARK: One HTTP/1.1 exchange (blocking; runs on a Dispatch thread)

    func post(path: String, body: [UInt8]) throws(StoreError) -> Response {
        let fd = try connectSocket()
        defer { close(fd) }
        var request = Array("POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8)
        request += body
        try sendAll(fd, request)
        return try readResponse(fd)
    }

    private func connectSocket() throws(StoreError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw StoreError.unavailable("cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let ai = entry {
            entry = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            if fd < 0 { continue }
            // The timeouts also bound connect() on Linux.
            var timeout = timeval(tv_sec: Int(requestTimeout), tv_usec: Int((requestTimeout - requestTimeout.rounded(.down)) * 1e6))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            if connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 { return fd }
            lastError = String(cString: strerror(errno))
            close(fd)
        }
        throw StoreError.unavailable("cannot connect to \(host):\(port): \(lastError)")
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(StoreError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.unavailable("sending to \(host):\(port): \(String(cString: strerror(errno)))")
            }
            sent += n
        }
    }

    private func readResponse(_ fd: Int32) throws(StoreError) -> Response {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var headerEnd: Int?
        var contentLength: Int?
        while true {
            if let headerEnd, let contentLength, data.count >= headerEnd + contentLength { break }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = errno == EAGAIN || errno == EWOULDBLOCK ? "timed out after \(requestTimeout) s" : String(cString: strerror(errno))
                throw StoreError.unavailable("reading the answer of \(host):\(port): \(reason)")
            }
            if n == 0 { break }
            data += buffer[0..<n]
            if headerEnd == nil, let end = Self.find([13, 10, 13, 10], in: data) {
                headerEnd = end + 4
                let head = String(decoding: data[0..<end], as: UTF8.self).lowercased()
                for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
                }
            }
        }
        guard let headerEnd else {
            throw StoreError.unavailable("\(host):\(port) closed the connection without an HTTP answer")
        }
        let statusLine = String(decoding: data[0..<(Self.find([13, 10], in: data) ?? 0)], as: UTF8.self)
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw StoreError.failed("\(host):\(port) answered something that is not HTTP: \(statusLine.prefix(80))")
        }
        let bodyEnd = contentLength.map { min(data.count, headerEnd + $0) } ?? data.count
        return Response(status: status, body: Array(data[headerEnd..<bodyEnd]))
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<i + needle.count]) == needle { return i }
        }
        return nil
    }
}
