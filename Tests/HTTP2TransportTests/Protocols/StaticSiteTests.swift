import Foundation
import RPC
import TestSupport
import Testing

@testable import HTTP2Transport

/// A page and its assets answered to GET on the RPC port, beside the RPCs, over both
/// HTTP versions; a server without a site answers GET as before (405).
@Suite struct StaticSiteTests {
    static let page = Array("<!doctype html><title>dash</title>".utf8)

    static let server: (GRPCServer, Int) = {
        var configuration = GRPCServer.Configuration()
        configuration.site = StaticSite(
            files: [
                "/": .init(contentType: "text/html; charset=utf-8", body: page),
                "/app.js": .init(contentType: "text/javascript", body: Array("let x = 1;".utf8)),
            ], headers: [("content-security-policy", "default-src 'self'")])
        let server = GRPCServer(
            configuration: configuration, executor: ServerCallExecutor(router: TestService.router()))
        return (server, try! server.start())
    }()

    static let bare: (GRPCServer, Int) = {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        return (server, try! server.start())
    }()

    @Test(arguments: [false, true]) func filesAreServedWithTheirTypes(http1: Bool) async throws {
        let port = Self.server.1
        let page = try await CurlPost.post(
            port: port, "/?session=abc", headers: [], body: [], method: "GET", http1: http1)
        #expect(CurlPost.status(page.headers) == 200, "\(page.headers)")
        #expect(page.headers.contains("content-type: text/html; charset=utf-8"), "\(page.headers)")
        #expect(page.headers.contains("content-security-policy: default-src 'self'"), "\(page.headers)")
        #expect(page.body == Self.page)
        let script = try await CurlPost.post(port: port, "/app.js", headers: [], body: [], method: "GET", http1: http1)
        #expect(script.headers.contains("content-type: text/javascript"), "\(script.headers)")
        #expect(script.body == Array("let x = 1;".utf8))
        let head = try await CurlPost.post(port: port, "/app.js", headers: [], body: [], method: "HEAD", http1: http1)
        #expect(head.headers.contains("content-length: 10"), "\(head.headers)")
        // curl --head writes the header block as the output: no body follows it.
        #expect(String(decoding: head.body, as: UTF8.self).hasSuffix("\r\n\r\n"))
        let missing = try await CurlPost.post(port: port, "/nope", headers: [], body: [], method: "GET", http1: http1)
        #expect(CurlPost.status(missing.headers) == 404, "\(missing.headers)")
        // The RPCs on the same port are untouched.
        let call = try await CurlPost.post(
            port: port, "/test.Echo/Unary", headers: ["content-type: application/grpc-web+proto"],
            body: MessageFramer.frame(Array("hi".utf8)), http1: http1)
        #expect(CurlPost.envelopes(call.body).first?.1 == Array("hi".utf8))
    }

    @Test func withoutASiteGETIsNotAllowed() async throws {
        let r = try await CurlPost.post(port: Self.bare.1, "/", headers: [], body: [], method: "GET")
        #expect(CurlPost.status(r.headers) == 405, "\(r.headers)")
    }
}
