import RPC
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A gRPC server over cleartext HTTP/2 (h2c, prior knowledge) on nghttp2.
///
/// Connections are served on the event loops (one thread per core, each owning many
/// connections); handlers run as Swift tasks.
public final class GRPCServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// 0 picks a free port; `start` returns the one bound.
        public var port: Int
        public var maxReceiveMessageSize: Int
        /// TLS with ALPN h2 when set; cleartext h2c otherwise.
        public var tls: TLSContext?
        /// Streams, header lists, keepalive, and how long and how many connections
        /// may stay open.
        public var limits = ConnectionLimits()
        /// Told when a limit refuses or ends a connection (for a log); called on the
        /// server's event loops, so it should be quick.
        public var onConnectionEvent: (@Sendable (ConnectionEvent) -> Void)?
        /// Browser pages of these origins may call the server (gRPC-Web, Connect);
        /// nil allows none.
        public var cors: CORSPolicy?
        /// Files answered to GET (a dashboard); nil: GET is 405 like any non-POST.
        public var site: StaticSite?

        public init(
            host: String = "127.0.0.1", port: Int = 0, maxReceiveMessageSize: Int = 4 << 20, tls: TLSContext? = nil
        ) {
            self.tls = tls
            self.host = host
            self.port = port
            self.maxReceiveMessageSize = maxReceiveMessageSize
        }
    }

    private struct State {
        var port = 0
        var listener: Int32 = -1
        var listenerHandler: Listener?
        var connections: [ObjectIdentifier: H2ServerConnection] = [:]
        var accepting = false
        /// Accepting is paused after running out of descriptors.
        var paused = false
        /// Refusals (connection cap) not reported yet, and when the last report went.
        var refusedUnreported = 0
        var lastRefusalReport: ContinuousClock.Instant?
    }

    public let executor: ServerCallExecutor
    private let configuration: Configuration
    private let state = Mutex(State())
    /// The loop that watches the listener (accepted connections go round-robin).
    private let acceptLoop = EventLoop.all[0]
    /// Open connections, for a shutdown to wait on.
    private let open = ActivityCounter()
    /// Producer slots shared by every connection (see `ConnectionLimits.maxConcurrentProducers`).
    private let sendSlots: SendSlots

    public init(configuration: Configuration, executor: ServerCallExecutor) {
        self.configuration = configuration
        self.executor = executor
        sendSlots = SendSlots(
            count: configuration.limits.maxConcurrentProducers ?? 2 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Binds and starts accepting; returns the bound port.
    @discardableResult
    public func start() throws -> Int {
        let (fd, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        let listener = Listener(fd: fd, server: self)
        state.withLock {
            $0.port = port
            $0.listener = fd
            $0.listenerHandler = listener
            $0.accepting = true
        }
        acceptLoop.execute { [acceptLoop] in acceptLoop.register(fd, listener) }
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

    /// The open streams of every connection, described (for tests: what a call that
    /// did not end was waiting for).
    func describeOpenStreams() async -> [String] {
        var all: [String] = []
        for c in state.withLock({ Array($0.connections.values) }) { all += await c.describeStreams() }
        return all
    }

    /// Timers pending across all connections (for tests: a call's deadline timer ends
    /// with the call).
    func pendingTimerCount() async -> Int {
        var total = 0
        for c in state.withLock({ Array($0.connections.values) }) { total += await c.timerCount() }
        return total
    }

    fileprivate func acceptAll(_ listener: Int32) {
        while true {
            let fd: Int32
            let peer: String
            switch Socket.accept(listener) {
            case .accepted(let f, let p):
                (fd, peer) = (f, p)
            case .empty:
                return
            case .failed(ECONNABORTED), .failed(EINTR), .failed(EPROTO):
                continue  // that one connection is gone; others may wait
            case .failed(let e):
                // Out of descriptors (EMFILE, ENFILE) or memory: the connection waits in
                // the backlog and the listener stays readable, so retrying now would spin.
                pauseAccepting(errno: e)
                return
            }
            let openCount = state.withLock { $0.connections.count }
            if openCount >= configuration.limits.maxConnections {
                // A clear refusal: closed at once, the client's connect fails fast and it
                // backs off, where an unanswered connection would hang in the backlog.
                Glibc.close(fd)
                noteRefused(open: openCount)
                continue
            }
            serve(fd: fd, peer: peer)
        }
    }

    private func serve(fd: Int32, peer: String) {
        var limits = H2ServerConnection.Limits()
        limits.maxReceiveMessageSize = configuration.maxReceiveMessageSize
        limits.connection = configuration.limits
        limits.cors = configuration.cors
        limits.site = configuration.site
        limits.session.maxConcurrentStreams = configuration.limits.maxConcurrentStreams
        limits.session.maxHeaderListSize = UInt32(clamping: configuration.limits.maxHeaderListSize)
        let io: any ByteStream
        if let tls = configuration.tls {
            guard let stream = TLSStream(fd: fd, context: tls, server: true) else {
                Glibc.close(fd)
                return
            }
            io = stream
        } else {
            io = PlainStream(fd: fd)
        }
        let connection = H2ServerConnection(
            io: io, peer: peer, executor: executor, limits: limits, sendSlots: sendSlots,
            onEvent: configuration.onConnectionEvent
        ) { [weak self] c in
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
        } else {
            io.close()
        }
    }

    /// Reports refusals: the first at once, then at most one report a second (a
    /// flood of connections must not become a flood of log lines).
    private func noteRefused(open: Int) {
        let now = ContinuousClock.now
        let count = state.withLock { s -> Int in
            s.refusedUnreported += 1
            if let last = s.lastRefusalReport, now - last < .seconds(1) { return 0 }
            s.lastRefusalReport = now
            defer { s.refusedUnreported = 0 }
            return s.refusedUnreported
        }
        if count > 0 { configuration.onConnectionEvent?(.refused(count: count, open: open)) }
    }

    /// Stops reading the listener for a moment after `accept` failed for want of
    /// resources; connections wait in the backlog meanwhile. On the accept loop.
    private func pauseAccepting(errno e: Int32) {
        let fd = state.withLock { s -> Int32? in
            guard !s.paused, s.listenerHandler != nil else { return nil }
            s.paused = true
            return s.listener
        }
        guard let fd else { return }
        configuration.onConnectionEvent?(.acceptFailed(errno: e))
        acceptLoop.setReadable(fd, false)
        acceptLoop.schedule(after: .milliseconds(100)) { [weak self, acceptLoop] in
            guard let self else { return }
            let open = state.withLock { s -> Bool in
                s.paused = false
                return s.listenerHandler != nil
            }
            if open { acceptLoop.setReadable(fd, true) }
        }
    }

    /// Stops accepting, sends GOAWAY on every connection, waits for in-flight calls
    /// up to `grace`, then closes what is left.
    public func shutdown(grace: Duration = .seconds(5)) async {
        let (connections, listener) = state.withLock { s -> ([H2ServerConnection], Int32?) in
            s.accepting = false
            let listener = s.listenerHandler == nil ? nil : s.listener
            s.listenerHandler = nil
            return (Array(s.connections.values), listener)
        }
        if let listener {
            acceptLoop.execute { [acceptLoop] in
                acceptLoop.deregister(listener)
                Glibc.close(listener)
            }
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

/// The listening socket's handler on the accept loop.
private final class Listener: EventLoopHandler, @unchecked Sendable {
    let fd: Int32
    weak var server: GRPCServer?
    init(fd: Int32, server: GRPCServer) {
        self.fd = fd
        self.server = server
    }
    func readable() { server?.acceptAll(fd) }
    func writable() {}
}
