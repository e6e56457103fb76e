import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// Shutdown: GOAWAY, in-flight calls drain to the end, then the server is gone.
@Suite struct GracefulShutdownTests {
    @Test func inFlightStreamsFinishAndNewCallsAreRefused() async throws {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        let port = try server.start()
        let script = "Tests/HTTP2TransportTests/Clients/grpc_client.py"
        // 150 messages, 10 ms apart: about 1.5 s of streaming.
        async let streaming = Subprocess.pythonJSON(script, [String(port), "slow_stream"])
        try await Self.waitForACall(server)
        let started = ContinuousClock.now
        // A grace far longer than the stream, so that "waited for the stream" is clear
        // however slow a loaded machine makes it.
        await server.shutdown(grace: .seconds(120))
        let drained = ContinuousClock.now - started
        let r = try await streaming.json
        #expect(r["code"] as? String == "OK", "\(r)")
        #expect(r["count"] as? Int == 150, "\(r)")
        // It waited for the stream, not for the whole grace period.
        #expect(drained < .seconds(60))
        #expect(server.executor.activeCalls == 0)
        #expect(server.connectionCount == 0)
        let after = try await Subprocess.pythonJSON(script, [String(port), "unary"]).json
        #expect(after["code"] as? String == "UNAVAILABLE", "\(after)")
    }

    @Test func graceRunsOutThenCallsAreCancelled() async throws {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        let port = try server.start()
        async let sleeping = Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(port), "sleep_long"])
        try await Self.waitForACall(server)
        await server.shutdown(grace: .milliseconds(300))
        let r = try await sleeping.json
        #expect(["UNAVAILABLE", "CANCELLED"].contains(r["code"] as? String ?? ""), "\(r)")
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.executor.activeCalls == 0)
    }

    /// The client's call has reached its handler (Python takes a while to start, and
    /// much longer on a busy machine: the bound only stops a test that would hang).
    static func waitForACall(_ server: GRPCServer) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while server.executor.activeCalls == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(100))
    }
}
