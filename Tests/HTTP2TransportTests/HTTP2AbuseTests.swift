import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// Protocol violations and floods, as raw frames. Each gets the right GOAWAY (or is
/// cut off), and a well-behaved client is served right after.
@Suite(.serialized) struct HTTP2AbuseTests {
    func abuse(_ testCase: String) async throws -> [String: Any] {
        let port = GRPCServerTests.server.1
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_abuse.py", [String(port), testCase])
        #expect(!json.isEmpty, "h2_abuse.py output: \(out.text)")
        // The server still serves others.
        let (ok, okOut) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(port), "unary"])
        #expect(ok["code"] as? String == "OK", "after \(testCase): \(okOut.text)")
        return json
    }

    // HTTP/2 error codes (RFC 9113 section 7).
    let protocolError = 1, internalError = 2, flowControlError = 3, frameSizeError = 6, enhanceYourCalm = 11

    @Test func badPrefaceIsCutOff() async throws {
        let r = try await abuse("bad_preface")
        #expect(r["closed"] as? Bool == true)
    }

    @Test func dataOnStreamZero() async throws {
        let r = try await abuse("data_on_stream_0")
        #expect(r["goaway"] as? Int == protocolError)
        #expect(r["closed"] as? Bool == true)
    }

    @Test func oversizedFrame() async throws {
        let r = try await abuse("oversized_frame")
        #expect(r["goaway"] as? Int == frameSizeError)
    }

    @Test func windowOverflow() async throws {
        let r = try await abuse("window_overflow")
        #expect(r["goaway"] as? Int == flowControlError)
    }

    @Test func rstStreamFlood() async throws {
        let r = try await abuse("rst_flood")
        // nghttp2's Rapid Reset limit ends the session with INTERNAL_ERROR.
        #expect([internalError, enhanceYourCalm].contains(r["goaway"] as? Int ?? -1), "\(r)")
        #expect(r["closed"] as? Bool == true)
    }

    @Test func continuationFlood() async throws {
        let r = try await abuse("continuation_flood")
        #expect(r["closed"] as? Bool == true)
        #expect(r["goaway"] != nil)
    }

    @Test func pingFloodOnAnIdleConnection() async throws {
        let r = try await abuse("ping_flood")
        #expect(r["goaway"] as? Int == enhanceYourCalm, "\(r)")
        #expect(r["closed"] as? Bool == true)
    }

    @Test func halfOpenStreamDoesNotBlockOthers() async throws {
        let r = try await abuse("half_open")
        // Default keepalive waits two hours: still open a second later.
        #expect(r["closed"] as? Bool == false)
    }

    @Test func slowReaderIsHeldByFlowControlAndOthersAreServed() async throws {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        let port = try server.start()
        async let slow = Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_abuse.py", [String(port), "slow_reader", "3"])
        try await GracefulShutdownTests.waitForACall(server)
        try await Task.sleep(for: .milliseconds(500))
        // The handler is parked on its bounded send queue, not spinning or buffering
        // a million messages; a well-behaved client is served meanwhile.
        #expect(server.executor.activeCalls == 1)
        let (ok, okOut) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(port), "server_stream"])
        #expect(ok["count"] as? Int == 1000, "\(okOut.text)")
        _ = try await slow
        // The slow reader left: its call ends.
        let deadline = ContinuousClock.now + .seconds(5)
        while server.executor.activeCalls > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.executor.activeCalls == 0)
        await server.shutdown(grace: .milliseconds(100))
    }

    @Test func silentPeerIsCutOffByKeepalive() async throws {
        var configuration = GRPCServer.Configuration()
        configuration.limits.keepaliveInterval = .milliseconds(200)
        configuration.limits.keepaliveTimeout = .milliseconds(200)
        let server = GRPCServer(
            configuration: configuration, executor: ServerCallExecutor(router: TestService.router()))
        let port = try server.start()
        // The abuse client opens a stream, then never answers anything (not even PING).
        let (r, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_abuse.py", [String(port), "half_open"])
        #expect(r["closed"] as? Bool == true, "\(out.text)")
        #expect(server.connectionCount == 0)
        await server.shutdown(grace: .milliseconds(100))
    }
}
