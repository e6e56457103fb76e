import HTTP2Transport
import RPC
import Testing

/// Bearer-token auth through the interceptor, over the real transport.
@Suite struct AuthTests {
    static let server: GRPCServer = {
        var router = TestService.router()
        router.unary("/grpc.health.v1.Health/Check", decode: { $0 }, encode: { $0 }) { (_: [UInt8], _) in [8, 1] }
        let server = GRPCServer(
            configuration: .init(),
            executor: ServerCallExecutor(
                router: router, interceptors: [BearerTokenInterceptor(token: "s3cret")]))
        _ = try! server.start()
        return server
    }()
    static let client = GRPCClient(configuration: .init(port: try! server.boundPort()))

    func code(_ path: String, token: String?) async -> Status.Code {
        var md = Metadata()
        if let token { md.add("authorization", token) }
        do {
            _ = try await Self.client.unary(path, request: [1], metadata: md)
            return .ok
        } catch let e as RPCError {
            return e.code
        } catch {
            return .unknown
        }
    }

    @Test func tokenRequiredExceptForHealth() async {
        #expect(await code("/test.Echo/Unary", token: "Bearer s3cret") == .ok)
        #expect(await code("/test.Echo/Unary", token: nil) == .unauthenticated)
        #expect(await code("/test.Echo/Unary", token: "Bearer wrong") == .unauthenticated)
        #expect(await code("/test.Echo/Unary", token: "s3cret") == .unauthenticated)
        #expect(await code("/grpc.health.v1.Health/Check", token: nil) == .ok)
    }

    /// A token over the server's header list limit fails its call alone, however large
    /// (a field over 64 KiB reaching nghttp2 would end the connection): the client
    /// keeps to the limit the server advertised.
    @Test func oversizedTokenFailsItsCallOnly() async {
        for size in [20_000, 1 << 20] {
            let token = "Bearer " + String(repeating: "k", count: size)
            #expect(await code("/test.Echo/Unary", token: token) == .resourceExhausted, "\(size) bytes")
            #expect(await code("/test.Echo/Unary", token: "Bearer s3cret") == .ok, "after \(size) bytes")
        }
    }
}
