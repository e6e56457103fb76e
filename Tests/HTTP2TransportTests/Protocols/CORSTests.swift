import Foundation
import RPC
import TestSupport
import Testing

@testable import HTTP2Transport

/// Browser pages of another origin: preflights answered before any handler, and every
/// response to an allowed origin naming it, on a server that allows one origin; none
/// of it on a server that allows none. Requests sent by curl, headers read as sent.
@Suite struct CORSTests {
    static let dashboard = "https://dash.example:8443"

    static let server: (GRPCServer, Int) = {
        var configuration = GRPCServer.Configuration()
        configuration.cors = CORSPolicy(allowedOrigins: [dashboard])
        let server = GRPCServer(
            configuration: configuration, executor: ServerCallExecutor(router: TestService.router()))
        return (server, try! server.start())
    }()

    static let closed: (GRPCServer, Int) = {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        return (server, try! server.start())
    }()

    func preflight(port: Int, origin: String, http1: Bool = false) async throws -> String {
        try await CurlPost.post(
            port: port, "/test.Echo/Unary",
            headers: [
                "origin: \(origin)", "access-control-request-method: POST",
                "access-control-request-headers: content-type,x-grpc-web,authorization",
            ], body: [], method: "OPTIONS", http1: http1
        ).headers
    }

    func gRPCWeb(port: Int, _ path: String, origin: String) async throws -> (headers: String, body: [UInt8]) {
        try await CurlPost.post(
            port: port, path,
            headers: ["content-type: application/grpc-web+proto", "x-grpc-web: 1", "origin: \(origin)"],
            body: MessageFramer.frame(Array("hi".utf8)))
    }

    @Test(arguments: [false, true]) func preflightFromAnAllowedOriginIsAnswered(http1: Bool) async throws {
        let h = try await preflight(port: Self.server.1, origin: Self.dashboard, http1: http1)
        #expect(CurlPost.status(h) == 204, "\(h)")
        #expect(h.contains("access-control-allow-origin: \(Self.dashboard)"), "\(h)")
        #expect(h.contains("access-control-allow-methods: POST"), "\(h)")
        for header in ["content-type", "x-grpc-web", "authorization", "connect-protocol-version"] {
            #expect(h.contains("access-control-allow-headers: ") && h.contains(header), "\(header): \(h)")
        }
        #expect(h.contains("access-control-max-age: 7200"), "\(h)")
    }

    @Test(arguments: [false, true]) func preflightFromAnotherOriginIsRefused(http1: Bool) async throws {
        let h = try await preflight(port: Self.server.1, origin: "https://elsewhere.example", http1: http1)
        #expect(CurlPost.status(h) == 403, "\(h)")
        #expect(!h.contains("access-control-allow-origin"), "\(h)")
    }

    @Test func responsesToAnAllowedOriginNameIt() async throws {
        let ok = try await gRPCWeb(port: Self.server.1, "/test.Echo/Unary", origin: Self.dashboard)
        #expect(ok.headers.contains("access-control-allow-origin: \(Self.dashboard)"), "\(ok.headers)")
        #expect(ok.headers.contains("access-control-expose-headers: grpc-status, grpc-message"), "\(ok.headers)")
        #expect(CurlPost.envelopes(ok.body).first?.1 == Array("hi".utf8))
        // A trailers-only answer (the status in the headers) is readable by the page too.
        let failed = try await gRPCWeb(port: Self.server.1, "/test.Echo/Fail", origin: Self.dashboard)
        #expect(failed.headers.contains("grpc-status: 5"), "\(failed.headers)")
        #expect(failed.headers.contains("access-control-allow-origin: \(Self.dashboard)"), "\(failed.headers)")
        // Another origin's call is served (CORS is the browser's check), without the headers.
        let other = try await gRPCWeb(port: Self.server.1, "/test.Echo/Unary", origin: "https://elsewhere.example")
        #expect(!other.headers.contains("access-control-allow-origin"), "\(other.headers)")
    }

    @Test func aServerThatAllowsNoOriginSendsNoCORSHeaders() async throws {
        let h = try await preflight(port: Self.closed.1, origin: Self.dashboard)
        #expect(CurlPost.status(h) == 405, "\(h)")
        let r = try await gRPCWeb(port: Self.closed.1, "/test.Echo/Unary", origin: Self.dashboard)
        #expect(!r.headers.contains("access-control-"), "\(r.headers)")
        #expect(CurlPost.envelopes(r.body).first?.1 == Array("hi".utf8))
    }
}
