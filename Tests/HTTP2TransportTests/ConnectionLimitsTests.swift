import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// What one client can hold on the server (issue 16, items 3, 5 and 6), driven by raw
/// frames (Clients/h2_limits.py): each limit answers the abuse as gRPC servers do,
/// and another client is served afterwards. Servers get short timeouts here (a few
/// hundred milliseconds) and the client waits generously for their effect, reading
/// EOF rather than sleeping, so a loaded machine makes the tests slower, not flaky.
@Suite(.serialized) struct ConnectionLimitsTests {
    /// A server of the test service with `configure` applied to its limits.
    func server(
        interceptors: [any ServerInterceptor] = [], _ configure: (inout GRPCServer.ConnectionLimits) -> Void = { _ in }
    ) throws -> (GRPCServer, Int) {
        var configuration = GRPCServer.Configuration()
        configure(&configuration.limits)
        let server = GRPCServer(
            configuration: configuration,
            executor: ServerCallExecutor(router: TestService.router(), interceptors: interceptors))
        return (server, try server.start())
    }

    func limits(_ port: Int, _ testCase: String, _ arguments: String...) async throws -> [String: Any] {
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_limits.py", [String(port), testCase] + arguments)
        #expect(!json.isEmpty, "h2_limits.py output: \(out.text)")
        return json
    }

    /// Another client (grpcio, its own connection) is served.
    func anotherClientIsServed(_ port: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let (ok, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(port), "unary"])
        #expect(ok["code"] as? String == "OK", "another client: \(out.text)", sourceLocation: sourceLocation)
    }

    func waitForNoConnections(_ server: GRPCServer) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while server.connectionCount > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.connectionCount == 0)
    }

    // MARK: 3. Header list size

    @Test func headerListBombIsAnsweredOnItsStreamInBoundedMemory() async throws {
        let (server, port) = try server()
        defer { Task { await server.shutdown(grace: .zero) } }
        // ~150 KiB on the wire decoding to ~550 MiB of header fields. The memory it may
        // take is bounded in DaemonMemoryTests, on a server in a process of its own.
        let r = try await limits(port, "header_bomb")
        #expect((r["decoded_bytes"] as? Int ?? 0) > 500 << 20)
        #expect(r["status1"] as? String == "8", "RESOURCE_EXHAUSTED on the stream: \(r)")
        #expect((r["message1"] as? String ?? "").contains("16384"), "\(r)")
        #expect(r["status3"] as? String == "0", "the same connection serves the next call: \(r)")
        #expect(r["goaway"] is NSNull && r["closed"] as? Bool == false, "\(r)")
        try await anotherClientIsServed(port)
    }

    @Test func oversizedAuthorizationIsAnsweredOnItsStream() async throws {
        let (server, port) = try server(interceptors: [BearerTokenInterceptor(token: "s3cret")])
        defer { Task { await server.shutdown(grace: .zero) } }
        // 60,000 bytes: over the 16 KiB list limit, under nghttp2's 64 KiB per field.
        let r = try await limits(port, "big_header", "60000")
        #expect(r["status1"] as? String == "8", "RESOURCE_EXHAUSTED on the stream: \(r)")
        // The next call on the connection reaches the interceptor (it has no token).
        #expect(r["status3"] as? String == "16", "\(r)")
        #expect(r["goaway"] is NSNull && r["closed"] as? Bool == false, "\(r)")
        // Through grpcio's HTTP/2 stack: a 20 KiB token is refused per call, and the
        // channel serves the next one.
        let (big, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(port), "token", "20000"])
        #expect(big["code"] as? String == "RESOURCE_EXHAUSTED", "\(out.text)")
        let (small, smallOut) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(port), "token", "100"])
        #expect(small["code"] as? String == "UNAUTHENTICATED", "\(smallOut.text)")
    }

    // MARK: 4. Send buffers

    /// 50 streams of 1 MiB messages on a connection whose stream windows are 0: the
    /// handlers build what the connection's send budget (4 MiB) holds, plus what its
    /// two producers had started, then wait; without the wait they built all 50.
    @Test func bulkStreamsOfAClientThatDoesNotReadWaitBeforeBuilding() async throws {
        let (server, port) = try server()
        defer { Task { await server.shutdown(grace: .zero) } }
        let before = TestService.bulkMessagesBuilt.load(ordering: .relaxed)
        let request = Array("100 \(1 << 20)".utf8).map { String(format: "%02x", $0) }.joined()
        let r = try await limits(
            port, "stalled_readers", "1", "50", "/test.Echo/Bulk", request, "1", "/test.Echo/Unary")
        let built = TestService.bulkMessagesBuilt.load(ordering: .relaxed) - before
        #expect(built >= 4 && built <= 6, "messages built: \(built)")
        let probes = r["probes"] as? [String?] ?? []
        #expect(!probes.isEmpty && probes.allSatisfy { $0 == "0" }, "another client meanwhile: \(r)")
        #expect(r["closed"] as? Int == 0, "\(r)")
        try await anotherClientIsServed(port)
    }

    // MARK: 5. Concurrent streams

    @Test func streamsBeyondTheLimitAreRefusedAlone() async throws {
        let (server, port) = try server { $0.maxConcurrentStreams = 4 }
        defer { Task { await server.shutdown(grace: .zero) } }
        let r = try await limits(port, "excess_streams", "4")
        #expect(r["refused"] as? String == "rst:7", "RST_STREAM REFUSED_STREAM: \(r)")
        #expect(r["statuses"] as? [String: String] == ["1": "0", "3": "0", "5": "0", "7": "0"], "\(r)")
        #expect(r["retried"] as? String == "0", "\(r)")
        #expect(r["goaway"] is NSNull && r["closed"] as? Bool == false, "\(r)")
        try await anotherClientIsServed(port)
    }

    @Test func aClientThatKeepsOverTheLimitIsToldToCalmDown() async throws {
        let (server, port) = try server { $0.maxConcurrentStreams = 4 }
        defer { Task { await server.shutdown(grace: .zero) } }
        // Refusals are allowed a burst of 1,000 (then 33 a second), as resets are.
        let r = try await limits(port, "refusal_flood", "4", "3000")
        #expect((r["refused"] as? Int ?? 0) >= 1000, "\(r)")
        #expect(r["goaway"] as? Int == 11 && r["goaway_debug"] as? String == "too_many_refused_streams", "\(r)")
        #expect(r["closed"] as? Bool == true, "\(r)")
        try await anotherClientIsServed(port)
    }

    // MARK: 6. Connection lifetimes

    @Test func halfAPrefaceIsClosedAfterTheHandshakeTimeout() async throws {
        let (server, port) = try server { $0.handshakeTimeout = .milliseconds(300) }
        defer { Task { await server.shutdown(grace: .zero) } }
        let r = try await limits(port, "half_preface", "30")
        #expect(r["closed"] as? Bool == true, "\(r)")
        #expect((r["seconds"] as? Double ?? 0) >= 0.25, "not before the timeout: \(r)")
        try await waitForNoConnections(server)
        try await anotherClientIsServed(port)
    }

    @Test func idleConnectionsGetAGracefulGoaway() async throws {
        let (server, port) = try server { $0.maxConnectionIdle = .milliseconds(300) }
        defer { Task { await server.shutdown(grace: .zero) } }
        let silent = try await limits(port, "preface_only", "30")
        #expect(silent["goaway"] as? Int == 0 && silent["closed"] as? Bool == true, "\(silent)")
        let afterCall = try await limits(port, "call_then_idle", "30")
        #expect(afterCall["status1"] as? String == "0", "\(afterCall)")
        #expect(afterCall["goaway"] as? Int == 0 && afterCall["closed"] as? Bool == true, "\(afterCall)")
        // A connection with a call open is not idle, however quiet.
        let (busy, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_abuse.py", [String(port), "half_open"])
        #expect(busy["closed"] as? Bool == false && busy["goaway"] is NSNull, "\(out.text)")
        try await anotherClientIsServed(port)
    }

    @Test func manyHalfOpenConnectionsAreAllClosed() async throws {
        let (server, port) = try server {
            $0.handshakeTimeout = .milliseconds(300)
            $0.maxConnectionIdle = .milliseconds(300)
        }
        defer { Task { await server.shutdown(grace: .zero) } }
        let r = try await limits(port, "many_half_open", "200", "60")
        #expect(r["half_closed"] as? Int == 200, "\(r)")
        #expect(r["idle_closed"] as? Int == 200 && r["idle_goaway"] as? Int == 200, "\(r)")
        try await waitForNoConnections(server)
        try await anotherClientIsServed(port)
    }

    /// Connections opened and reset by the client one after another: each is closed
    /// on the server. On Dispatch's read sources about one in twenty reset sockets was
    /// never reported, its descriptor open for good (and some thousands crashed the
    /// server in libdispatch); the event loops see every one.
    @Test func connectionsResetByTheClientAreAllClosed() async throws {
        let (server, port) = try server()
        defer { Task { await server.shutdown(grace: .zero) } }
        let reset = try await limits(port, "churn", "3000", "rst")
        #expect(reset["served"] as? Int == 3000, "\(reset)")
        let closed = try await limits(port, "churn", "500", "fin")
        #expect(closed["served"] as? Int == 500, "\(closed)")
        try await waitForNoConnections(server)
        try await anotherClientIsServed(port)
    }

    @Test func maxConnectionAgeIsAGracefulGoaway() async throws {
        let (server, port) = try server { $0.maxConnectionAge = .milliseconds(300) }
        defer { Task { await server.shutdown(grace: .zero) } }
        // The request in flight at the GOAWAY completes; then the connection closes.
        let r = try await limits(port, "max_age", "30")
        #expect(r["goaway"] as? Int == 0, "\(r)")
        #expect(r["status1"] as? String == "0", "\(r)")
        #expect(r["closed"] as? Bool == true, "\(r)")
        try await anotherClientIsServed(port)
    }

    @Test func maxConnectionAgeGraceEndsCallsThatOutlastIt() async throws {
        let (server, port) = try server {
            $0.maxConnectionAge = .milliseconds(300)
            $0.maxConnectionAgeGrace = .milliseconds(300)
        }
        defer { Task { await server.shutdown(grace: .zero) } }
        // An hour-long call: closed with the connection once the grace is over.
        let r = try await limits(port, "max_age_grace", "30")
        #expect(r["goaway"] as? Int == 0 && r["closed"] as? Bool == true, "\(r)")
        try await waitForNoConnections(server)
        try await anotherClientIsServed(port)
    }

    @Test func pingsTooOftenDuringACallGetEnhanceYourCalm() async throws {
        let (server, port) = try server()
        defer { Task { await server.shutdown(grace: .zero) } }
        let r = try await limits(port, "pings_during_call", "30")
        #expect(r["goaway"] as? Int == 11, "ENHANCE_YOUR_CALM: \(r)")
        #expect(r["goaway_debug"] as? String == "too_many_pings", "what gRPC clients read to back off: \(r)")
        #expect(r["closed"] as? Bool == true, "\(r)")
        try await anotherClientIsServed(port)
    }

    @Test func connectionsBeyondTheCapAreClosedAtOnce() async throws {
        let (server, port) = try server { $0.maxConnections = 2 }
        defer { Task { await server.shutdown(grace: .zero) } }
        let r = try await limits(port, "connection_cap", "2", "30")
        #expect(r["accepted"] as? [Bool] == [true, true], "\(r)")
        #expect(r["refused_closed"] as? Bool == true && r["refused_frames"] as? Int == 0, "\(r)")
        #expect(r["later_status"] as? String == "0", "served once a connection left: \(r)")
        try await anotherClientIsServed(port)
    }
}
