import Testing

@testable import RPC

@Suite struct BearerTokenInterceptorTests {
    @Test func constantTimeComparison() {
        #expect(BearerTokenInterceptor.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!BearerTokenInterceptor.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(!BearerTokenInterceptor.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!BearerTokenInterceptor.constantTimeEqual([], [0]))
    }

    @Test func rejectsAndExempts() async {
        let auth = BearerTokenInterceptor(token: "t")
        var md = Metadata()
        md.add("authorization", "Bearer t")
        await #expect(throws: Never.self) { try await auth.intercept(ServerContext(path: "/a.B/C", metadata: md)) }
        await #expect(throws: RPCError(.unauthenticated, "missing authorization: expected a bearer token")) {
            try await auth.intercept(ServerContext(path: "/a.B/C"))
        }
        await #expect(throws: Never.self) {
            try await auth.intercept(ServerContext(path: "/grpc.health.v1.Health/Check"))
        }
    }
}
