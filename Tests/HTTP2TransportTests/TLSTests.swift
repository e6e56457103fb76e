import Foundation
import HTTP2Transport
import RPC
import TestSupport
import Testing

/// The same server over TLS (OpenSSL, ALPN h2) with a certificate made at test time,
/// called by grpcio with certificate and host-name verification.
@Suite(.serialized) struct TLSTests {
    /// A task, so the certificate is made without holding a cooperative thread.
    static let fixture: Task<(server: GRPCServer, port: Int, ca: String, tls: TLSContext), any Error> = Task {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let made = try await Subprocess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", "\(dir)/key.pem", "-out", "\(dir)/cert.pem",
            ])
        precondition(made.status == 0, made.text)
        let tls = try TLSContext.server(certificateChainFile: "\(dir)/cert.pem", privateKeyFile: "\(dir)/key.pem")
        let server = GRPCServer(
            configuration: .init(tls: tls), executor: ServerCallExecutor(router: TestService.router()))
        return (server, try server.start(), "\(dir)/cert.pem", tls)
    }

    func call(_ testCase: String) async throws -> [String: Any] {
        let fixture = try await Self.fixture.value
        let (json, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py",
            [String(fixture.port), testCase], environment: ["GRPC_TEST_CA": fixture.ca])
        #expect(!json.isEmpty, "\(out.text)")
        return json
    }

    @Test func unaryAndStreamingOverTLS() async throws {
        #expect(try await call("unary")["code"] as? String == "OK")
        let stream = try await call("server_stream")
        #expect(stream["count"] as? Int == 1000)
        #expect(try await call("near_limit")["size"] as? Int == (4 << 20) - 64)
        #expect(try await call("client_stream")["reply"] as? String == "500 messages, 125250 bytes")
    }

    /// Browsers and HTTP/1.1 clients: ALPN picks http/1.1 when the client offers only
    /// that, h2 when it offers both; gRPC-Web works over either.
    @Test(arguments: [("--http1.1", "HTTP/1.1 200"), ("--http2", "HTTP/2 200")])
    func alpnPicksTheProtocolTheClientOffers(flag: String, statusLine: String) async throws {
        let fixture = try await Self.fixture.value
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tls-curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(MessageFramer.frame(Array("hi".utf8))).write(to: dir.appendingPathComponent("body"))
        let out = try await Subprocess.run(
            "/usr/bin/curl",
            [
                "-sS", flag, "--cacert", fixture.ca, "-D", dir.appendingPathComponent("headers").path,
                "-o", dir.appendingPathComponent("response").path,
                "-H", "content-type: application/grpc-web+proto", "--data-binary", "@\(dir.path)/body",
                "https://localhost:\(fixture.port)/test.Echo/Unary",
            ])
        #expect(out.status == 0, "\(out.text)")
        let headers = (try? String(contentsOf: dir.appendingPathComponent("headers"), encoding: .utf8)) ?? ""
        #expect(headers.hasPrefix(statusLine), "\(headers)")
        let body = [UInt8]((try? Data(contentsOf: dir.appendingPathComponent("response"))) ?? Data())
        #expect(body.starts(with: MessageFramer.frame(Array("hi".utf8))), "\(body)")
    }

    /// The handshake timeout covers TLS: a client that never says hello is closed.
    @Test func aSilentClientIsClosedAfterTheHandshakeTimeout() async throws {
        var configuration = GRPCServer.Configuration(tls: try await Self.fixture.value.tls)
        configuration.limits.handshakeTimeout = .milliseconds(300)
        let server = GRPCServer(
            configuration: configuration, executor: ServerCallExecutor(router: TestService.router()))
        let port = try server.start()
        defer { Task { await server.shutdown(grace: .zero) } }
        let (r, out) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/h2_limits.py", [String(port), "silent", "30"])
        #expect(r["closed"] as? Bool == true && (r["seconds"] as? Double ?? 0) >= 0.25, "\(out.text)")
        let (ok, okOut) = try await Subprocess.pythonJSON(
            "Tests/HTTP2TransportTests/Clients/grpc_client.py", [String(port), "unary"],
            environment: ["GRPC_TEST_CA": try await Self.fixture.value.ca])
        #expect(ok["code"] as? String == "OK", "\(okOut.text)")
    }

    @Test func badCertificateFilesAreClearErrors() {
        #expect(throws: TLSContext.Error.self) {
            try TLSContext.server(certificateChainFile: "/nonexistent.pem", privateKeyFile: "/nonexistent.key")
        }
    }
}
