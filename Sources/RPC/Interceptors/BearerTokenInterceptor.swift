/// Requires `authorization: Bearer <token>` on every call except the exempt paths
/// (health checks, so probes need no secret). UNAUTHENTICATED otherwise.
public struct BearerTokenInterceptor: SynchronousServerInterceptor {
    private let expected: [UInt8]
    private let exemptPrefixes: [String]

    public init(token: String, exemptPrefixes: [String] = ["/grpc.health.v1.Health/"]) {
        expected = Array("Bearer \(token)".utf8)
        self.exemptPrefixes = exemptPrefixes
    }

    public func check(_ context: ServerContext) throws(RPCError) {
        if exemptPrefixes.contains(where: { context.path.hasPrefix($0) }) { return }
        guard let given = context.metadata["authorization"] else {
            throw RPCError(.unauthenticated, "missing authorization: expected a bearer token")
        }
        guard Self.constantTimeEqual(Array(given.utf8), expected) else {
            throw RPCError(.unauthenticated, "invalid bearer token")
        }
    }

    /// Comparison whose time does not depend on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}
