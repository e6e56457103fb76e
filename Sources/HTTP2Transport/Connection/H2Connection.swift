#if canImport(Glibc)
    import Glibc
#endif

/// The I/O half of a connection, shared by server and client: the byte stream, its
/// session (nghttp2's HTTP/2, or HTTP/1.1 on a server), reading into the session and
/// flushing what it has to send. Subclasses handle streams (they are the session's
/// delegate).
///
/// Everything mutable is confined to `loop`, the event loop the connection belongs to:
/// nghttp2 callbacks run on it (from `readable`/`flush`), and other threads reach it
/// only through `loop.execute`. That is the invariant behind `@unchecked Sendable`.
class H2Connection: EventLoopHandler, @unchecked Sendable {
    let loop: EventLoop
    let io: any ByteStream
    var session: (any WireSession)!
    private(set) var closed = false
    /// The connection is ending (a final GOAWAY is queued): input is read and dropped,
    /// and once the output is written the connection half-closes and lingers.
    private(set) var ending = false
    private var lingering = false
    /// How long an ending connection waits for its peer to close (a server's); nil
    /// closes at once (a client's: it has nothing more to tell).
    var lingerTime: Duration?
    /// The loop watches the socket for room to write (output is waiting).
    private var wantsWritable = false
    private var output: [UInt8] = []
    private var outputStart = 0
    /// Frames gathered for one write: everything nghttp2 has to send leaves in as few
    /// syscalls as the socket allows, not one per frame.
    private var batch: [UInt8] = []
    /// A flush is queued (`scheduleFlush`).
    private var flushScheduled = false
    /// Input is being fed to the session: `readable` flushes when it is done, so what
    /// the session's callbacks answer (an inline call's response) needs no flush queued.
    private var receiving = false
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    /// When bytes last arrived (`EventLoop.now()`); keepalive pings a connection
    /// silent for too long.
    private var lastRead = EventLoop.now()
    /// Pending `after` timers, cancelled by `close`: a closed connection's timers
    /// would otherwise wait for their deadline (the keepalive's, two hours later),
    /// holding the connection for every connection a server had served in that time.
    private var timers: Set<EventLoop.TimerID> = []
    /// A server's first bytes, kept until they tell which protocol the client speaks.
    private var firstBytes: [UInt8] = []
    /// The loop has stopped watching the socket for input (`session.readPaused`).
    private var readingPaused = false

    /// Event loops own connections round-robin: a thousand busy connections take the
    /// loops' threads, one per core, not a thread apiece (Dispatch workers took the
    /// process to 261 threads and doubled the CPU per call). Nothing on a loop blocks:
    /// its I/O is non-blocking.
    init(io: any ByteStream, loop: EventLoop = .next()) {
        self.io = io
        self.loop = loop
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Starts reading, on `loop`, with the session `makeSession` builds.
    func start(_ makeSession: @escaping @Sendable () -> any WireSession) {
        loop.execute { [self] in
            session = makeSession()
            loop.register(io.fd, self)
            flush()
        }
    }

    /// Starts reading, on `loop`, with no session until the first bytes arrive and
    /// `session(forFirstBytes:)` picks one.
    func startSniffing() {
        loop.execute { [self] in loop.register(io.fd, self) }
    }

    /// The session for a connection whose first bytes (all of them so far) are
    /// `bytes`; nil while they do not tell yet. Servers override it.
    func session(forFirstBytes bytes: [UInt8]) -> (any WireSession)? { nil }

    /// The first bytes chose no session and no more will help.
    static let sniffLimit = 64

    /// Called once, on `loop`, when the connection has closed.
    func connectionClosed() {}

    /// Timers set and not yet fired or cancelled (for tests). Read on `loop`.
    var pendingTimerCount: Int { timers.count }

    /// Runs `work` on `loop` after `delay`, unless the connection closes first or it is
    /// cancelled (`cancelTimer`). Call on `loop`.
    @discardableResult
    func after(_ delay: Duration, _ work: @escaping () -> Void) -> EventLoop.TimerID? {
        guard !closed else { return nil }
        var id = 0
        // Strong: the loop drops the closure when the timer fires or is cancelled, and
        // `close` cancels them all (no weak reference: see NGHTTP2Session.delegate).
        id = loop.schedule(after: delay) { [self] in
            guard timers.remove(id) != nil else { return }
            work()
        }
        timers.insert(id)
        return id
    }

    /// Cancels a timer of `after`'s. Call on `loop`.
    func cancelTimer(_ id: EventLoop.TimerID) {
        guard timers.remove(id) != nil else { return }
        loop.cancelTimer(id)
    }

    /// Keepalive: after `interval` without a byte from the peer, send a PING; if
    /// nothing arrives within `timeout` after it, the peer is gone (or will not
    /// answer): close. Cuts off half-open connections and silent clients.
    func startKeepalive(interval: Duration, timeout: Duration) {
        after(interval) { [unowned self] in keepaliveCheck(interval: interval, timeout: timeout) }
    }

    private func keepaliveCheck(interval: Duration, timeout: Duration) {
        guard !closed else { return }
        // No protocol yet (the handshake timeout covers that), or one without pings.
        guard session != nil, session.canPing else { return startKeepalive(interval: interval, timeout: timeout) }
        let silentSince = lastRead
        if EventLoop.now() >= silentSince &+ EventLoop.nanoseconds(interval) {
            session.submitPing()
            flush()
            after(timeout) { [unowned self] in
                guard !self.closed else { return }
                if self.lastRead == silentSince {
                    self.keepaliveTimedOut()
                } else {
                    self.startKeepalive(interval: interval, timeout: timeout)
                }
            }
        } else {
            startKeepalive(interval: interval, timeout: timeout)
        }
    }

    /// The peer answered nothing, not even the keepalive PING: it is gone.
    func keepaliveTimedOut() {
        session.terminate(errorCode: NGHTTP2Session.noError)
        flush()
        close()
    }

    func readable() {
        guard !closed else { return }
        if ending { return discardInput() }
        // With input unwatched, only a hang-up or a socket error is reported: the peer is gone.
        if readingPaused { return close() }
        if session != nil, session.readPaused { return pauseReading() }
        // Bounded: a few reads per turn so one busy connection cannot starve the
        // queue's other work (handler output); the rest is picked up next turn.
        for _ in 0..<8 {
            switch io.read(into: readBuffer) {
            case .bytes(let n):
                lastRead = EventLoop.now()
                do {
                    if session == nil {
                        firstBytes.append(contentsOf: readBuffer[0..<n])
                        guard let chosen = session(forFirstBytes: firstBytes) else {
                            if firstBytes.count >= Self.sniffLimit { return close() }
                            continue
                        }
                        session = chosen
                        let bytes = firstBytes
                        firstBytes = []
                        // (A typed-throws closure here crashes Swift 6.3's IRGen.)
                        receiving = true
                        defer { receiving = false }
                        let failure = bytes.withUnsafeBytes { b -> ProtocolError? in
                            do throws(ProtocolError) {
                                try session.receive(b)
                                return nil
                            } catch {
                                return error
                            }
                        }
                        if let failure { throw failure }
                    } else {
                        receiving = true
                        defer { receiving = false }
                        try session.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                    }
                } catch {
                    // nghttp2 queued a GOAWAY where the protocol calls for one; flush it, then close.
                    session.terminate(errorCode: NGHTTP2Session.protocolError)
                    endAfterOutput()
                }
                if ending || session.readPaused {
                    flush()
                    return
                }
                // A short read drained the socket: skip the read that would say EAGAIN.
                // (The loop's epoll is level-triggered, so nothing is missed.)
                if n < readBuffer.count && !io.hasBufferedInput {
                    flush()
                    return
                }
            case .wouldBlock, .needsRead:
                flush()
                return
            case .closed, .failed:
                close()
                return
            }
        }
        flush()
        // More in the socket: the level-triggered loop calls again after its other work.
        // More in TLS buffers, which epoll does not see: asked for here.
        if io.hasBufferedInput { readBufferedInput() }
    }

    /// Reads input TLS holds (decrypted records epoll cannot see), after the loop's other work.
    private func readBufferedInput() {
        loop.execute { [self] in
            guard !readingPaused else { return }
            readable()
        }
    }

    /// Ends the connection once what is queued (a final GOAWAY) is written. Safe in
    /// nghttp2's callbacks: the flush that ends the input's turn writes it.
    func endAfterOutput() {
        ending = true
    }

    /// Output done: half-close, then read and drop input until the peer closes or a
    /// moment passes. Closed at once with input unread, the socket would answer with a
    /// TCP RST, and a peer that gets one may drop the GOAWAY it has not read yet.
    private func linger() {
        guard let lingerTime else { return close() }
        guard !lingering else { return }
        lingering = true
        ending = true
        _ = Glibc.shutdown(io.fd, Int32(SHUT_WR))
        after(lingerTime) { [unowned self] in close() }
    }

    private func discardInput() {
        for _ in 0..<8 {
            switch io.read(into: readBuffer) {
            case .bytes: continue
            case .wouldBlock, .needsRead:
                if !lingering { flush() }  // the GOAWAY may still be going out
                return
            case .closed, .failed: return close()
            }
        }
        if io.hasBufferedInput { readBufferedInput() }
    }

    /// Stops watching the socket for input until the session takes it again (`flush`
    /// resumes): level-triggered, the loop would otherwise call again at once.
    private func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        loop.setReadable(io.fd, false)
    }

    /// Writes what the session has to send, keeping what the socket does not take.
    func flush() {
        guard session != nil else { return }
        if readingPaused, !session.readPaused, !closed {
            readingPaused = false
            loop.setReadable(io.fd, true)
            if io.hasBufferedInput { readBufferedInput() }
        }
        var written = 0
        while !closed && !lingering {
            guard drainOutput() else { return }  // blocked: `writable` or a read resumes
            if written >= Self.turnBytes {
                // A fast reader of a bulk stream would keep the loop writing megabytes
                // while other connections' small calls wait: the rest goes next turn.
                scheduleFlush()
                return
            }
            // Frames are copied out of nghttp2 (its buffer is reused by the next call)
            // into one batch, up to 64 KiB, and the batch goes in one write.
            batch.removeAll(keepingCapacity: true)
            var full = false
            do {
                try session.send { chunk in
                    batch.append(contentsOf: chunk)
                    full = batch.count >= Self.batchBytes
                    return !full
                }
            } catch {
                close()
                return
            }
            if batch.isEmpty { break }
            written += batch.count
            switch batch.withUnsafeBytes({ io.write($0) }) {
            case .bytes(let n) where n == batch.count:
                break
            case .bytes(let n):
                // A partial write (TLS writes one record at a time): keep the rest.
                output.append(contentsOf: batch[n...])
            case .wouldBlock, .needsRead:
                output.append(contentsOf: batch)
            case .closed, .failed:
                close()
                return
            }
            // nghttp2 had nothing more to send: done (what is left in `output` goes when
            // the socket takes it).
            if !full { break }
        }
        if !closed && !lingering && output.count > outputStart { _ = drainOutput() }
        // Everything written: a GOAWAY that ends the connection has gone out.
        if !closed && !lingering && output.count == outputStart
            && (ending || (!session.wantsRead && !session.wantsWrite))
        {
            linger()
        }
    }

    /// The most bytes gathered for one write.
    static let batchBytes = 64 << 10
    /// The most bytes one flush writes before letting the loop's other work run.
    static let turnBytes = 256 << 10

    /// A flush after the work already queued: what a handler sends and its end of call
    /// (submitted from other threads, one after the other) leave in one write.
    func scheduleFlush() {
        guard !flushScheduled, !receiving else { return }
        flushScheduled = true
        loop.execute { [self] in
            flushScheduled = false
            flush()
        }
    }

    /// Writes buffered output; false while some remains.
    private func drainOutput() -> Bool {
        while outputStart < output.count {
            let result = output.withUnsafeBytes { io.write(UnsafeRawBufferPointer(rebasing: $0[outputStart...])) }
            switch result {
            case .bytes(let n): outputStart += n
            case .wouldBlock:
                if !wantsWritable {
                    wantsWritable = true
                    loop.setWritable(io.fd, true)
                }
                return false
            case .needsRead:
                // The read side retries: readable() ends in flush().
                return false
            case .closed, .failed:
                close()
                return false
            }
        }
        output.removeAll(keepingCapacity: output.count <= 1 << 20)
        outputStart = 0
        return true
    }

    /// The socket takes output again.
    func writable() {
        guard !closed else { return }
        if drainOutput() {
            wantsWritable = false
            loop.setWritable(io.fd, false)
            flush()
        }
    }

    /// Closes the connection (idempotent); subclasses end their streams in
    /// `connectionClosed`.
    func close() {
        guard !closed else { return }
        closed = true
        // Out of the loop's epoll first: closed while still registered, its number
        // could go to a new socket before the loop forgot it.
        loop.deregister(io.fd)
        io.close()
        for id in timers { loop.cancelTimer(id) }
        timers.removeAll()
        connectionClosed()
    }
}
