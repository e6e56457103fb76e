extension GRPCServer {
    /// What one client can hold on the server, and for how long. Defaults follow
    /// grpc-go's (and C-core's header list limit) except where grpc-go's leave a
    /// server open to abuse: those are noted.
    public struct ConnectionLimits: Sendable {
        /// SETTINGS_MAX_CONCURRENT_STREAMS; a stream beyond it is refused alone
        /// (RST_STREAM REFUSED_STREAM, which clients retry), the connection is kept.
        public var maxConcurrentStreams: UInt32 = 100
        /// SETTINGS_MAX_HEADER_LIST_SIZE in bytes (RFC 9113: names, values and 32 per
        /// field), advertised and enforced: a request whose header list is larger is
        /// answered RESOURCE_EXHAUSTED on its own stream (C-core's hard limit, 16 KiB).
        public var maxHeaderListSize: Int = 16 << 10
        /// A connection must finish TLS and the HTTP/2 preface (through the client's
        /// first SETTINGS) within this, or it is closed. grpc-go's ConnectionTimeout
        /// is 120 s; 20 s is ample for a real client and frees a slow-loris sooner.
        public var handshakeTimeout: Duration = .seconds(20)
        /// A connection with no call open for this long is sent a graceful GOAWAY
        /// and closed (grpc-go's MaxConnectionIdle, infinite there: then idle
        /// connections would hold descriptors forever). nil: never.
        public var maxConnectionIdle: Duration? = .seconds(300)
        /// A connection this old (±10% jitter, as grpc-go) is sent a graceful GOAWAY;
        /// its calls finish, new ones go to a new connection (grpc-go's
        /// MaxConnectionAge). nil: never, the default.
        public var maxConnectionAge: Duration?
        /// After the age GOAWAY, calls still running get this long before the
        /// connection is closed under them (MaxConnectionAgeGrace). nil: as long as
        /// they take, the default.
        public var maxConnectionAgeGrace: Duration?
        /// A connection silent this long gets a PING (grpc-go's Time: 2 hours)...
        public var keepaliveInterval: Duration = .seconds(7200)
        /// ...and is closed when nothing arrives this long after it (Timeout: 20 s).
        public var keepaliveTimeout: Duration = .seconds(20)
        /// Client pings closer together than this are strikes; a third strike ends
        /// the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (grpc-go's
        /// EnforcementPolicy.MinTime, 5 minutes).
        public var keepaliveMinTime: Duration = .seconds(300)
        /// Whether clients may ping while no call is open (PermitWithoutStream: no;
        /// then any two pings under 2 hours apart on an idle connection are a strike).
        public var keepalivePermitWithoutCalls = false
        /// Open connections at most; one more is accepted and closed at once (and
        /// reported), so the process keeps descriptors for its other work. grpc-go
        /// has no limit; this one sits well under a raised descriptor limit.
        public var maxConnections = 10_000
        /// Response bytes one connection may have queued for a client that is not
        /// reading them before its bulk streams (those that wait for capacity before
        /// building a message) stop producing. A stream queues at most 64 KiB plus
        /// one message (grpc-go's write quota), so this bounds a connection's streams
        /// together: a client holding a hundred unread streams costs the server this
        /// much and a message or two, not a message per stream.
        public var maxConnectionSendBuffer = 4 << 20
        /// How many handlers may build a large message at once over all
        /// connections (reading from the store and encoding), so that many bulk
        /// readers cannot crowd small calls off the threads. nil: twice the number
        /// of cores (a producer also waits for its store).
        public var maxConcurrentProducers: Int?

        public init() {}
    }
}
