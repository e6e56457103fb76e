import Foundation
import RPC
import TestSupport
import Testing

@testable import HTTP2Transport

/// gRPC-Web on the gRPC port, over HTTP/2 and HTTP/1.1: bodies sent and read by curl, byte for
/// byte; `buf curl --protocol grpcweb` (a full client) in GRPCServicesTests.
@Suite struct GRPCWebTests {
    static let server: (GRPCServer, Int) = {
        let server = GRPCServer(configuration: .init(), executor: ServerCallExecutor(router: TestService.router()))
        return (server, try! server.start())
    }()

    func post(http1: Bool, _ path: String, contentType: String, body: [UInt8]) async throws -> (
        headers: String, body: [UInt8]
    ) {
        try await CurlPost.post(
            port: Self.server.1, path, headers: ["content-type: \(contentType)", "x-grpc-web: 1"], body: body,
            http1: http1)
    }

    func envelopes(_ body: [UInt8]) -> [(UInt8, [UInt8])] { CurlPost.envelopes(body) }

    @Test(arguments: [false, true]) func unaryInBinary(http1: Bool) async throws {
        let r = try await post(
            http1: http1,
            "/test.Echo/Unary", contentType: "application/grpc-web+proto", body: MessageFramer.frame(Array("hi".utf8)))
        #expect(r.headers.contains("content-type: application/grpc-web+proto"), "\(r.headers)")
        let parts = envelopes(r.body)
        #expect(parts.count == 2, "\(r.body)")
        #expect(parts.first?.0 == 0 && parts.first?.1 == Array("hi".utf8))
        #expect(parts.last?.0 == 0x80 && parts.last?.1 == Array("grpc-status: 0\r\n".utf8))
    }

    @Test(arguments: [false, true]) func serverStreamInText(http1: Bool) async throws {
        // Base64 of the envelope, with a line break as a shell's base64 would add.
        let body = Array((Base64.encode(MessageFramer.frame(Array("3".utf8)), padded: true) + "\n").utf8)
        let r = try await post(
            http1: http1, "/test.Echo/ServerStream", contentType: "application/grpc-web-text", body: body)
        #expect(r.headers.contains("content-type: application/grpc-web-text+proto"), "\(r.headers)")
        // Each envelope is base64 on its own, padded: decoded piece by piece.
        var decoder = GRPCWeb.TextDecoder()
        let decoded = try r.body.withUnsafeBytes { try decoder.decode($0) }
        #expect(decoder.isEmpty)
        let parts = envelopes(decoded)
        #expect(parts.map(\.1).prefix(3).map { String(decoding: $0, as: UTF8.self) } == ["0", "1", "2"])
        #expect(parts.last?.0 == 0x80 && parts.last?.1 == Array("grpc-status: 0\r\n".utf8), "\(parts)")
    }

    @Test(arguments: [false, true]) func errorsAreTrailersOnlyInTheHeaders(http1: Bool) async throws {
        let r = try await post(
            http1: http1,
            "/test.Echo/Fail", contentType: "application/grpc-web", body: MessageFramer.frame(Array("x".utf8)))
        #expect(r.headers.contains("grpc-status: 5"), "\(r.headers)")
        #expect(r.headers.contains("content-type: application/grpc-web+proto"), "\(r.headers)")
        #expect(r.body.isEmpty)
        let bad = try await post(
            http1: http1, "/test.Echo/Unary", contentType: "application/grpc-web-text", body: Array("AAA*".utf8))
        #expect(bad.headers.contains("grpc-status: 13") && bad.headers.contains("base64"), "\(bad.headers)")
        let json = try await post(http1: http1, "/test.Echo/Unary", contentType: "application/grpc-web+json", body: [])
        #expect(CurlPost.status(json.headers) == 415, "only the protobuf codec is served: \(json.headers)")
    }

    /// Request bodies arrive in pieces of any size; padding may end any group.
    @Test func textDecoderTakesPiecesOfAnySize() throws {
        let envelopes = [MessageFramer.frame(Array("first".utf8)), MessageFramer.frame(Array("second!".utf8))]
        let text = Array(envelopes.map { Base64.encode($0, padded: true) }.joined().utf8)
        for size in [1, 2, 3, 5, 7, text.count] {
            var decoder = GRPCWeb.TextDecoder()
            var out: [UInt8] = []
            var i = 0
            while i < text.count {
                let piece = Array(text[i..<min(text.count, i + size)])
                out += try piece.withUnsafeBytes { try decoder.decode($0) }
                i += size
            }
            #expect(out == envelopes.joined().map { $0 } && decoder.isEmpty, "pieces of \(size)")
        }
        var decoder = GRPCWeb.TextDecoder()
        #expect(throws: GRPCWeb.TextDecoder.Invalid.self) {
            try Array("AB=C".utf8).withUnsafeBytes { try decoder.decode($0) }
        }
    }
}
