/// Cross-origin access for browser pages served from another origin (a dashboard on
/// its own host calling the server with gRPC-Web or Connect). Off unless origins are
/// allowed; then a preflight (OPTIONS) is answered here, before any handler or
/// interceptor, and every response to an allowed origin names it.
public struct CORSPolicy: Sendable, Equatable {
    /// Origins allowed, exactly as browsers send them (`https://dash.example:8443`);
    /// "*" allows any.
    public var allowedOrigins: Set<String>
    /// How long a browser may keep a preflight's answer.
    public var maxAgeSeconds = 7200

    public init(allowedOrigins: Set<String>) {
        self.allowedOrigins = allowedOrigins
    }

    public func allows(_ origin: String) -> Bool {
        allowedOrigins.contains("*") || allowedOrigins.contains(origin)
    }

    /// Request headers a page may send: those of gRPC-Web and Connect, and
    /// authorization for the server's bearer token.
    static let allowedHeaders = [
        "authorization", "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "grpc-encoding",
        "grpc-accept-encoding", "connect-protocol-version", "connect-timeout-ms", "connect-content-encoding",
        "connect-accept-encoding", "content-encoding", "accept-encoding",
    ].joined(separator: ", ")

    /// Response headers a page may read: the status and trailers of gRPC-Web (when
    /// they come as headers, a trailers-only answer) and Connect.
    static let exposedHeaders = [
        "grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding",
        "connect-content-encoding", "connect-accept-encoding", "content-encoding",
    ].joined(separator: ", ")

    /// Added to every response to `origin`. The origin is named rather than "*" so a
    /// page that sends an Authorization header is served too.
    static func responseHeaders(origin: String) -> [(String, String)] {
        [
            ("access-control-allow-origin", origin), ("vary", "origin"),
            ("access-control-expose-headers", exposedHeaders),
        ]
    }

    /// The answer to a preflight from an allowed origin.
    func preflightHeaders(origin: String) -> [(String, String)] {
        [
            (":status", "204"), ("access-control-allow-origin", origin), ("vary", "origin"),
            ("access-control-allow-methods", "POST, GET, OPTIONS"),
            ("access-control-allow-headers", Self.allowedHeaders),
            ("access-control-max-age", String(maxAgeSeconds)),
        ]
    }
}
