import Foundation
import Synchronization

/// Sends ILP batches to QuestDB's `POST /write?precision=us` over kept-alive HTTP/1.1
/// connections (libcurl, through CurlConnection; a small pool, so writes of several
/// sessions go side by side). Like the official clients it retries
/// 500/503/504/507/509/523/524/529/599 and transport failures with backoff for up to
/// `retryTimeout` seconds (at least one retry when it is above 0), never 4xx; tables
/// are DEDUP UPSERT, so a retried batch never duplicates rows. 4xx errors carry
/// QuestDB's JSON message.
public final class ILPHTTPWriter: Sendable {
    public let host: String
    public let port: UInt16
    public let retryTimeout: Double
    /// Connecting, and a request (plus a second per 4 MiB of its body), fail after this long.
    public let requestTimeout: Double
    private let writeURL: String
    private let pingURL: String
    private let idle = Mutex<[CurlConnection]>([])
    private static let retryable: Set<Int> = [500, 503, 504, 507, 509, 523, 524, 529, 599]
    /// Idle connections kept for reuse; more may be open while requests run.
    private static let keptConnections = 4

    /// `baseURL` like `http://127.0.0.1:9000`.
    public init(baseURL: String, retryTimeout: Double = 10, requestTimeout: Double = 30) throws {
        guard let url = URL(string: baseURL), url.scheme == "http", let host = url.host else {
            throw StoreError.invalid("QuestDB HTTP address \"\(baseURL)\" is not http://host:port")
        }
        self.host = host
        port = UInt16(url.port ?? 9000)
        self.retryTimeout = retryTimeout
        self.requestTimeout = requestTimeout
        let origin = "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        writeURL = origin + "/write?precision=us"
        pingURL = origin + "/ping"
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
            let outcome = await exchange { connection in
                try lines.withUnsafeBytes { try connection.post(self.writeURL, body: $0) }
            }
            let failure: String
            switch outcome {
            case .success(let response) where response.status == 204 || response.status == 200:
                return
            case .success(let response) where Self.retryable.contains(response.status):
                failure = "HTTP \(response.status): \(Self.message(response.body))"
            case .success(let response) where (400..<500).contains(response.status):
                throw StoreError.invalid(
                    "QuestDB rejected the write (HTTP \(response.status)): \(Self.message(response.body))")
            case .success(let response):
                throw StoreError.failed("QuestDB answered HTTP \(response.status): \(Self.message(response.body))")
            case .failure(let error):
                failure = error.description
            }
            // With any retry budget, a retryable failure is retried at least once, even
            // when the first attempt itself used the budget up (a slow or busy machine).
            if Date().addingTimeInterval(delay) > deadline && (retryTimeout <= 0 || attempts >= 2) {
                throw StoreError.unavailable(
                    "QuestDB at \(host):\(port) failed \(attempts) attempt(s) over \(retryTimeout) s; last: \(failure)")
            }
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            delay = min(delay * 2, 1.0)
        }
    }

    /// Whether QuestDB's HTTP endpoint answers `/ping` (one attempt).
    public func ping() async -> Bool {
        if case .success(let response) = await exchange({ try $0.get(self.pingURL) }) {
            return response.status == 204 || response.status == 200
        }
        return false
    }

    /// One request on a pooled connection, on a thread of its own: libcurl blocks, and a
    /// slow or silent server must not hold one of Swift's few cooperative threads (a
    /// request is one batch, so a thread per request is cheap).
    private func exchange(_ body: @escaping @Sendable (CurlConnection) throws -> CurlConnection.Response) async
        -> Result<Response, StoreError>
    {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: self.exchangeHere(body))
            }
        }
    }

    private func exchangeHere(_ body: (CurlConnection) throws -> CurlConnection.Response) -> Result<
        Response, StoreError
    > {
        let connection: CurlConnection
        if let reused = idle.withLock({ $0.popLast() }) {
            connection = reused
        } else {
            do {
                connection = try CurlConnection(timeout: requestTimeout)
            } catch {
                return .failure(.failed(error.description))
            }
        }
        do {
            let response = try body(connection)
            idle.withLock { if $0.count < Self.keptConnections { $0.append(connection) } }
            return .success(Response(status: response.status, body: response.body))
        } catch {
            // A failed connection is not reused.
            return .failure(.unavailable("\(host):\(port): \(error)"))
        }
    }

    /// QuestDB's error JSON (`{"code":...,"message":...,"line":N,"errorId":...}`) as text.
    static func message(_ body: [UInt8]) -> String {
        if let json = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let message = json["message"] as? String
        {
            var text = message
            if let line = json["line"] as? Int { text += " (line \(line))" }
            if let id = json["errorId"] as? String { text += " [errorId \(id)]" }
            return text
        }
        return String(decoding: body.prefix(500), as: UTF8.self)
    }
}
