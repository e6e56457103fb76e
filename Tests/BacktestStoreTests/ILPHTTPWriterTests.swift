import Foundation
import TestSupport
import Testing

@testable import BacktestStore

/// The ILP-over-HTTP writer against a listener that answers as QuestDB does: 400 with
/// a JSON body (no retry, message surfaced), 500 then 204 (retried, same body sent
/// twice, success), connection refused (retries, then unavailable), and a timeout.
@Suite struct ILPHTTPWriterTests {
    /// Starts the stand-in server; returns its port and a function waiting for its report.
    static func startServer(_ mode: String) async throws -> (
        port: Int, finish: @Sendable () async throws -> [[String: String]]
    ) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ilp-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let portFile = dir.appendingPathComponent("port").path
        let resultFile = dir.appendingPathComponent("result.json").path
        let run = Task {
            try await Subprocess.run(
                Subprocess.python, ["Tests/BacktestStoreTests/Clients/ilp_http_server.py", mode, portFile, resultFile])
        }
        var port: Int?
        // Up to 30 s: the interpreter may wait for a subprocess slot on a busy machine.
        for _ in 0..<1500 {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let p = Int(text) {
                port = p
                break
            }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        let finish: @Sendable () async throws -> [[String: String]] = {
            let output = try await run.value
            defer { try? FileManager.default.removeItem(at: dir) }
            guard let data = FileManager.default.contents(atPath: resultFile),
                let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            else {
                throw StoreError.failed("server gave no result: \(output.text)")
            }
            return json["requests"] as? [[String: String]] ?? []
        }
        return (try #require(port), finish)
    }

    static let body = Array("trades,sid=s\\ 1 price=1.5,qty=2i 1700000000000000\n".utf8)

    @Test func badRequestIsSurfacedAndNotRetried() async throws {
        let server = try await Self.startServer("400")
        let writer = try ILPHTTPWriter(baseURL: "http://127.0.0.1:\(server.port)", retryTimeout: 2)
        do {
            try await writer.write(Self.body)
            Issue.record("a 400 answer counted as success")
        } catch let error as StoreError {
            guard case .invalid(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.contains("HTTP 400"))
            #expect(message.contains("invalid field value"))
            #expect(message.contains("line 2"))
        }
        let requests = try await server.finish()
        #expect(requests.count == 1)
        #expect(requests.first?["path"] == "/write?precision=us")
    }

    /// QuestDB answers a kept-alive /write with 204 and no Content-Length: the answer
    /// ends at its headers (RFC 9112 6.3), and the next write reuses the connection.
    @Test func keptAlive204EndsAtItsHeaders() async throws {
        let server = try await Self.startServer("keepalive-204")
        let writer = try ILPHTTPWriter(baseURL: "http://127.0.0.1:\(server.port)", retryTimeout: 0, requestTimeout: 60)
        let started = ContinuousClock.now
        for _ in 0..<3 { try await writer.write(Self.body) }
        // Well under one request timeout (a write that waited for a length or a close
        // would take the whole 60 s), however loaded the machine.
        #expect(ContinuousClock.now - started < .seconds(30))
        let requests = try await server.finish()
        #expect(requests.map { $0["path"] } == Array(repeating: "/write?precision=us", count: 3))
    }

    @Test func serverErrorIsRetriedWithTheSameBody() async throws {
        let server = try await Self.startServer("500-then-204")
        let writer = try ILPHTTPWriter(baseURL: "http://127.0.0.1:\(server.port)", retryTimeout: 5)
        try await writer.write(Self.body)
        let requests = try await server.finish()
        #expect(requests.count == 2)
        let hex = Self.body.map { String(format: "%02x", $0) }.joined()
        #expect(requests.map { $0["body"] } == [hex, hex])
    }

    @Test func refusedConnectionsAreRetriedThenUnavailable() async throws {
        // A port that was just free: nothing listens there.
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        close(probe)
        // Long enough for several attempts even on a loaded machine.
        let writer = try ILPHTTPWriter(baseURL: "http://127.0.0.1:\(port)", retryTimeout: 3)
        let start = Date()
        do {
            try await writer.write(Self.body)
            Issue.record("wrote to a closed port")
        } catch let error as StoreError {
            guard case .unavailable(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.contains("refused"), "\(message)")
            // Several attempts were made before giving up.
            let attempts = Int(message.split(separator: " ").drop { $0 != "failed" }.dropFirst().first ?? "0") ?? 0
            #expect(attempts >= 2, "\(message)")
        }
        #expect(Date().timeIntervalSince(start) >= 1)
    }

    @Test func silentServerTimesOut() async throws {
        let server = try await Self.startServer("timeout")
        let writer = try ILPHTTPWriter(baseURL: "http://127.0.0.1:\(server.port)", retryTimeout: 0, requestTimeout: 0.5)
        do {
            try await writer.write(Self.body)
            Issue.record("no answer counted as success")
        } catch let error as StoreError {
            guard case .unavailable(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.contains("timed out"), "\(message)")
        }
        _ = try await server.finish()
    }
}
