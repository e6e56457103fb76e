import Dispatch
import RPC
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A gRPC client over HTTP/2 on nghttp2: cleartext (h2c, prior knowledge) or TLS
/// with ALPN h2. One connection, opened on first use and again after it closes;
/// calls are multiplexed on it.
public final class GRPCClient: ClientTransport {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// TLS when set; `serverName` is verified against the certificate.
        public var tls: TLSContext?
        public var serverName: String?
        public var maxReceiveMessageSize: Int
        public var connectTimeout: Duration
        /// Send request messages gzip-compressed (`grpc-encoding: gzip`).
        public var gzipRequests: Bool

        public init(
            host: String = "127.0.0.1", port: Int, tls: TLSContext? = nil, serverName: String? = nil,
            maxReceiveMessageSize: Int = 64 << 20, connectTimeout: Duration = .seconds(5), gzipRequests: Bool = false
        ) {
            self.gzipRequests = gzipRequests
            self.host = host
            self.port = port
            self.tls = tls
            self.serverName = serverName
            self.maxReceiveMessageSize = maxReceiveMessageSize
            self.connectTimeout = connectTimeout
        }
    }

    private let configuration: Configuration
    private let connection = Mutex<H2ClientConnection?>(nil)

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Starts a call of any kind; send, closeSend and read its messages.
    public func start(_ path: String, metadata: Metadata = Metadata(), timeout: Duration? = nil) async throws
        -> ClientCall
    {
        let connection = try await usableConnection()
        let call = ClientCall(
            connection: connection, maxMessageSize: configuration.maxReceiveMessageSize,
            gzip: configuration.gzipRequests)
        call.open(path: path, metadata: metadata, timeout: timeout)
        return call
    }

    /// A unary call: one request, one response; a non-OK status throws RPCError.
    public func unary(_ path: String, request: [UInt8], metadata: Metadata = Metadata(), timeout: Duration? = nil)
        async throws -> (response: [UInt8], trailers: Metadata)
    {
        try await RPCClient(transport: self, metadata: metadata, timeout: timeout).unary(path, request: request)
    }

    /// A server-streaming call: the responses as they come; a non-OK status is thrown
    /// at the end of the sequence.
    public func serverStreaming(
        _ path: String, request: [UInt8], metadata: Metadata = Metadata(), timeout: Duration? = nil
    ) async throws -> ClientCall {
        let call = try await start(path, metadata: metadata, timeout: timeout)
        try await call.send(request)
        call.closeSend()
        return call
    }

    public func startCall(_ path: String, metadata: Metadata, timeout: Duration?) async throws -> any ClientStream {
        try await start(path, metadata: metadata, timeout: timeout)
    }

    /// Closes the connection; calls in flight end UNAVAILABLE.
    public func close() {
        let current = connection.withLock { c -> H2ClientConnection? in
            defer { c = nil }
            return c
        }
        current?.loop.execute { current?.close() }
    }

    /// The open streams of the current connection, described (for tests: the client's
    /// side of a call that did not end).
    func describeOpenStreams() async -> [String] {
        await connection.withLock { $0 }?.describeStreams() ?? []
    }

    private func usableConnection() async throws -> H2ClientConnection {
        if let c = connection.withLock({ $0 }), c.isOpen { return c }
        let fd = try await Self.connect(
            host: configuration.host, port: configuration.port, timeout: configuration.connectTimeout)
        let io: any ByteStream
        if let tls = configuration.tls {
            guard
                let stream = TLSStream(
                    fd: fd, context: tls, server: false, hostname: configuration.serverName ?? configuration.host)
            else {
                Glibc.close(fd)
                throw RPCError(.unavailable, "cannot start TLS: \(TLSContext.lastError())")
            }
            io = stream
        } else {
            io = PlainStream(fd: fd)
        }
        let options = H2ClientConnection.Options(
            authority: "\(configuration.serverName ?? configuration.host):\(configuration.port)",
            scheme: configuration.tls == nil ? "http" : "https",
            maxReceiveMessageSize: configuration.maxReceiveMessageSize)
        let fresh = H2ClientConnection(io: io, options: options)
        fresh.start()
        return connection.withLock { c in
            if let existing = c, existing.isOpen {
                fresh.loop.execute { fresh.close() }
                return existing
            }
            c = fresh
            return fresh
        }
    }

    /// Connecting waits (name resolution, the TCP handshake): on a queue of its own,
    /// never on Swift's task pool or the few threads of Dispatch's global queue.
    private static let connectQueue = DispatchQueue(label: "grpc.client.connect", attributes: .concurrent)

    static func connect(host: String, port: Int, timeout: Duration) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            connectQueue.async {
                continuation.resume(with: Result { try Socket.connect(host: host, port: port, timeout: timeout) })
            }
        }
    }
}
