import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// The real server on 127.0.0.1, called by a real gRPC client (Python grpcio).
@Suite(.serialized) struct GRPCServerTests {
    static let server: (GRPCServer, Int) = {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        let port = try! server.start()
        return (server, port)
    }()

    func call(_ testCase: String) async throws -> [String: Any] {
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(Self.server.1), testCase])
        #expect(!json.isEmpty, "client output is not JSON: \(out.text)")
        return json
    }

    @Test func unary() async throws {
        let r = try await call("unary")
        #expect(r["code"] as? String == "OK")
        #expect(r["echo"] as? String == Array("hello \u{0}".utf8).map { String(format: "%02x", $0) }.joined() + "ff")
        #expect(try await call("empty")["echo"] as? String == "")
    }

    @Test func serverStreaming() async throws {
        let r = try await call("server_stream")
        #expect(r["code"] as? String == "OK")
        #expect(r["count"] as? Int == 1000)
        #expect(r["first"] as? String == "0")
        #expect(r["last"] as? String == "999")
    }

    @Test func clientStreaming() async throws {
        let r = try await call("client_stream")
        #expect(r["code"] as? String == "OK")
        // 500 messages of 1...500 bytes.
        #expect(r["reply"] as? String == "500 messages, 125250 bytes")
    }

    @Test func messageSizeLimit() async throws {
        let near = try await call("near_limit")
        #expect(near["code"] as? String == "OK")
        #expect(near["size"] as? Int == (4 << 20) - 64)
        let over = try await call("over_limit")
        #expect(over["code"] as? String == "RESOURCE_EXHAUSTED")
    }

    @Test func deadlineCancelsTheHandler() async throws {
        let r = try await call("deadline")
        #expect(r["code"] as? String == "DEADLINE_EXCEEDED")
        #expect((r["seconds"] as? Double ?? 99) < 2)
        try await Self.waitForIdle()
    }

    @Test func clientCancellationMidStream() async throws {
        let r = try await call("cancel_stream")
        #expect(r["received"] as? Int == 10)
        try await Self.waitForIdle()
    }

    @Test func unknownMethodAndService() async throws {
        #expect(try await call("unknown_method")["code"] as? String == "UNIMPLEMENTED")
        #expect(try await call("unknown_service")["code"] as? String == "UNIMPLEMENTED")
    }

    @Test func handlerErrorsCarryStatusAndMessage() async throws {
        let r = try await call("fail")
        #expect(r["code"] as? String == "NOT_FOUND")
        #expect(r["details"] as? String == "nöt found: 100% gone")
    }

    @Test func metadataRoundTrip() async throws {
        let r = try await call("metadata")
        #expect(r["code"] as? String == "OK")
        #expect(r["body"] as? String == "x-user=ana")
        let trailers = r["trailers"] as? [String: String] ?? [:]
        #expect(trailers["x-trace-bin"] == "0001feff")
    }

    @Test func gzipRequestsAreAccepted() async throws {
        let r = try await call("gzip")
        #expect(r["code"] as? String == "OK", "\(r)")
        #expect(r["same"] as? Bool == true)
    }

    @Test func gzipBombIsBoundedByTheReceiveLimit() async throws {
        let r = try await call("gzip_bomb")
        #expect(r["code"] as? String == "RESOURCE_EXHAUSTED", "\(r)")
    }

    @Test func parallelCallsOnOneConnection() async throws {
        let r = try await call("parallel")
        #expect(r["code"] as? String == "OK", "\(r)")
    }

    @Test func thousandsOfCancelledStreamsLeaveNothingBehind() async throws {
        let r = try await call("churn")
        #expect(r["cancelled"] as? Int == 1800, "\(r)")
        #expect(r["expired"] as? Int == 900, "\(r)")
        try await Self.waitForIdle()
    }

    /// Every call's task has ended and every stream is gone: nothing leaks after
    /// cancellations and deadlines.
    static func waitForIdle() async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if server.0.executor.activeCalls == 0, await server.0.openStreamCount() == 0 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(server.0.executor.activeCalls == 0)
        #expect(await server.0.openStreamCount() == 0)
    }
}
