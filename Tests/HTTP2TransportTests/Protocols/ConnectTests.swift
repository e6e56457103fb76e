import Foundation
import RPC
import TestSupport
import Testing

@testable import HTTP2Transport

/// The Connect protocol on the gRPC port, over HTTP/2 and HTTP/1.1: bodies sent and read by curl,
/// byte for byte; `buf curl --protocol connect` (a full client) in GRPCServicesTests.
@Suite struct ConnectTests {
    static let server: (GRPCServer, Int) = {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        return (server, try! server.start())
    }()

    func post(http1: Bool, _ path: String, _ headers: [String], _ body: [UInt8]) async throws -> (
        headers: String, body: [UInt8]
    ) {
        try await CurlPost.post(port: Self.server.1, path, headers: headers, body: body, http1: http1)
    }

    @Test(arguments: [false, true]) func unaryIsTheBareMessageWithTrailersAsHeaders(http1: Bool) async throws {
        let ok = try await post(http1: http1, "/test.Echo/Unary", ["content-type: application/proto"], Array("hi".utf8))
        #expect(CurlPost.status(ok.headers) == 200 && ok.headers.contains("content-type: application/proto"))
        #expect(ok.body == Array("hi".utf8))
        // An empty message is an empty body (curl sends HEADERS with END_STREAM).
        let empty = try await post(http1: http1, "/test.Echo/Unary", ["content-type: application/proto"], [])
        #expect(CurlPost.status(empty.headers) == 200 && empty.body.isEmpty, "\(empty.headers)")
        let traced = try await post(
            http1: http1,
            "/test.Echo/Metadata", ["content-type: application/proto", "x-trace-bin: AQI"], [])
        #expect(traced.headers.contains("trailer-x-trace-bin: AQI"), "\(traced.headers)")
    }

    @Test(arguments: [false, true]) func unaryErrorsAreHTTPStatusesWithJSON(http1: Bool) async throws {
        let failed = try await post(http1: http1, "/test.Echo/Fail", ["content-type: application/proto"], [])
        #expect(CurlPost.status(failed.headers) == 404 && failed.headers.contains("content-type: application/json"))
        #expect(
            String(decoding: failed.body, as: UTF8.self) == #"{"code":"not_found","message":"nöt found: 100% gone"}"#)
        let unknown = try await post(http1: http1, "/test.Nope/M", ["content-type: application/proto"], [])
        #expect(CurlPost.status(unknown.headers) == 501, "\(unknown.headers)")
        let timeout = try await post(
            http1: http1,
            "/test.Echo/Unary", ["content-type: application/proto", "connect-timeout-ms: 1.5"], [])
        #expect(CurlPost.status(timeout.headers) == 400, "\(timeout.headers)")
        #expect(String(decoding: timeout.body, as: UTF8.self).contains("connect-timeout-ms"))
        let json = try await post(
            http1: http1, "/test.Echo/Unary", ["content-type: application/json"], Array("{}".utf8))
        #expect(CurlPost.status(json.headers) == 415, "a method without a JSON mapping: \(json.headers)")
    }

    @Test(arguments: [false, true]) func streamsEndWithAnEndOfStreamEnvelope(http1: Bool) async throws {
        let r = try await post(
            http1: http1,
            "/test.Echo/ServerStream", ["content-type: application/connect+proto"],
            MessageFramer.frame(Array("3".utf8)))
        #expect(CurlPost.status(r.headers) == 200 && r.headers.contains("content-type: application/connect+proto"))
        let parts = CurlPost.envelopes(r.body)
        #expect(parts.map(\.0) == [0, 0, 0, 2], "\(parts)")
        #expect(parts.prefix(3).map { String(decoding: $0.1, as: UTF8.self) } == ["0", "1", "2"])
        #expect(parts.last?.1 == Array("{}".utf8))
        // An error in a stream: HTTP 200, the status in the end-of-stream message.
        let bad = try await post(
            http1: http1,
            "/test.Echo/Bulk", ["content-type: application/connect+proto"], MessageFramer.frame(Array("x".utf8)))
        let end = CurlPost.envelopes(bad.body)
        #expect(CurlPost.status(bad.headers) == 200 && end.count == 1 && end.first?.0 == 2, "\(bad.headers)")
        #expect(
            String(decoding: end.first?.1 ?? [], as: UTF8.self)
                == #"{"error":{"code":"invalid_argument","message":"COUNT SIZE"}}"#)
    }

    @Test func errorJSONEscapesText() {
        #expect(Connect.quoted("a\"b\\c\nd\u{1}é") == #""a\"b\\c\nd\u0001é""#)
        let end = Connect.endOfStream(Status(.ok), trailers: [("x-a", "1"), ("x-a", "2"), ("x-b", "3")])
        #expect(Array(end.dropFirst(5)) == Array(#"{"metadata":{"x-a":["1","2"],"x-b":["3"]}}"#.utf8))
    }
}
