#if canImport(Glibc)
    import Glibc
#endif

extension GRPCServer {
    /// Connections the server refused or ended by a limit, for the operator's log
    /// (the transport itself does not log).
    public enum ConnectionEvent: Sendable, Equatable, CustomStringConvertible {
        /// Connections closed on accept because `maxConnections` were open. Reported
        /// at most once a second: `count` is how many since the last report.
        case refused(count: Int, open: Int)
        /// `accept` failed for want of descriptors or memory; accepting pauses briefly
        /// (the listener would otherwise stay readable and spin).
        case acceptFailed(errno: Int32)
        /// A connection a limit ended (gracefully, with GOAWAY, where it says so).
        case ended(peer: String, reason: EndReason)

        public enum EndReason: String, Sendable {
            case handshakeTimeout = "no HTTP/2 preface within the handshake timeout: closed"
            case idle = "no call for the max idle time: GOAWAY"
            case maxAge = "max connection age: GOAWAY"
            case maxAgeGrace = "calls still open after the max age grace: closed"
            case tooManyPings = "pings more often than the keepalive policy allows: GOAWAY ENHANCE_YOUR_CALM"
            case tooManyRefusedStreams = "streams over the concurrent limit again and again: GOAWAY ENHANCE_YOUR_CALM"
            case keepaliveTimeout = "no answer to a keepalive ping: closed"
        }

        public var description: String {
            switch self {
            case .refused(let count, let open):
                "refused \(count) connection(s): \(open) open, the most allowed"
            case .acceptFailed(let e):
                "accept failed: \(String(cString: strerror(e))); accepting paused"
            case .ended(let peer, let reason):
                "connection \(peer): \(reason.rawValue)"
            }
        }
    }
}
