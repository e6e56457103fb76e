import Dispatch
import RPC
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A gRPC server over cleartext HTTP/2 (h2c, prior knowledge) on nghttp2.
///
/// Connections are served on Dispatch queues (one serial queue per connection, no
/// thread per connection); handlers run as Swift tasks.
public final class GRPCServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `start` returns the one bound.
        public var port: Int
        public var maxReceiveMessageSize: Int
        public var maxConcurrentStreams: UInt32
        /// TLS with ALPN h2 when set; cleartext h2c otherwise.
        public var tls: TLSContext?
        /// A connection silent this long gets a PING (gRPC's default: 2 hours)...
        public var keepaliveInterval: Duration = .seconds(7200)
        /// ...and is closed when nothing arrives this long after it.
        public var keepaliveTimeout: Duration = .seconds(20)

        public init(
            host: String = "127.0.0.1", port: Int = 0, maxReceiveMessageSize: Int = 4 << 20,
            maxConcurrentStreams: UInt32 = 100, tls: TLSContext? = nil
        ) {
            self.tls = tls
            self.host = host
            self.port = port
            self.maxReceiveMessageSize = maxReceiveMessageSize
            self.maxConcurrentStreams = maxConcurrentStreams
        }
    }

    private struct State {
        var port = 0
        var listener: Int32 = -1
        var source: ListenerSource?
        var connections: [ObjectIdentifier: H2ServerConnection] = [:]
        var accepting = false
    }

    public let executor: ServerCallExecutor
    private let configuration: Configuration
    private let state = Mutex(State())
    private let acceptQueue = DispatchQueue(label: "grpc.server.accept")
    /// Open connections, for a shutdown to wait on.
    private let open = ActivityCounter()

    public init(configuration: Configuration, executor: ServerCallExecutor) {
        self.configuration = configuration
        self.executor = executor
    }

    /// Binds and starts accepting; returns the bound port.
    @discardableResult
    public func start() throws -> Int {
        let (fd, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
        source.setEventHandler { [weak self] in self?.acceptAll(fd) }
        source.setCancelHandler { Glibc.close(fd) }
        state.withLock {
            $0.port = port
            $0.listener = fd
            $0.source = ListenerSource(source: source)
            $0.accepting = true
        }
        source.resume()
        return port
    }

    /// The port `start` bound.
    public func boundPort() throws -> Int {
        let port = state.withLock { $0.port }
        guard port != 0 else { throw RPCError(.failedPrecondition, "the server has not started") }
        return port
    }

    /// Open client connections.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// HTTP/2 streams open across all connections; back to zero when every call has
    /// ended, however it ended.
    public func openStreamCount() async -> Int {
        var total = 0
        for c in state.withLock({ Array($0.connections.values) }) { total += await c.streamCount() }
        return total
    }

    private func acceptAll(_ listener: Int32) {
        while let (fd, peer) = Socket.accept(listener) {
            var limits = H2ServerConnection.Limits()
            limits.maxReceiveMessageSize = configuration.maxReceiveMessageSize
            limits.session.maxConcurrentStreams = configuration.maxConcurrentStreams
            let io: any ByteStream
            if let tls = configuration.tls {
                guard let stream = TLSStream(fd: fd, context: tls, server: true) else {
                    Glibc.close(fd)
                    continue
                }
                io = stream
            } else {
                io = PlainStream(fd: fd)
            }
            let connection = H2ServerConnection(io: io, peer: peer, executor: executor, limits: limits) {
                [weak self] c in
                guard let self else { return }
                let removed = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(c)) }
                if removed != nil { open.leave() }
            }
            let accepted = state.withLock { s -> Bool in
                guard s.accepting else { return false }
                s.connections[ObjectIdentifier(connection)] = connection
                open.enter()
                return true
            }
            if accepted {
                connection.start()
                connection.startKeepalive(
                    interval: configuration.keepaliveInterval, timeout: configuration.keepaliveTimeout)
            } else {
                io.close()
            }
        }
    }

    /// Stops accepting, sends GOAWAY on every connection, waits for in-flight calls
    /// up to `grace`, then closes what is left.
    public func shutdown(grace: Duration = .seconds(5)) async {
        let connections = state.withLock { s -> [H2ServerConnection] in
            s.accepting = false
            s.source?.source.cancel()
            s.source = nil
            return Array(s.connections.values)
        }
        for c in connections { c.beginShutdown() }
        // Whichever comes first: the last connection and call ending, or the grace.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [open, executor] in
                await open.waitUntilZero()
                await executor.calls.waitUntilZero()
            }
            group.addTask { try? await Task.sleep(for: grace) }
            await group.next()
            group.cancelAll()
        }
        for c in state.withLock({ Array($0.connections.values) }) { c.forceClose() }
    }
}

/// The listener's Dispatch source; DispatchSource's cancel is thread-safe, which is
/// all that crosses threads.
private final class ListenerSource: @unchecked Sendable {
    let source: any DispatchSourceRead
    init(source: any DispatchSourceRead) { self.source = source }
}
