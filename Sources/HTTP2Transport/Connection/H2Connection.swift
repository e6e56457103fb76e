import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// The I/O half of an HTTP/2 connection, shared by server and client: the byte
/// stream, its nghttp2 session, reading into the session and flushing what it has
/// to send. Subclasses handle streams (they are the session's delegate).
///
/// Everything mutable is confined to `queue`, a serial queue: nghttp2 callbacks run
/// on it (from `readable`/`flush`), and other threads reach it only through
/// `queue.async`. That is the invariant behind `@unchecked Sendable`.
class H2Connection: @unchecked Sendable {
    let queue: DispatchQueue
    let io: any ByteStream
    var session: NGHTTP2Session!
    private(set) var closed = false
    /// The connection is ending (a final GOAWAY is queued): input is read and dropped,
    /// and once the output is written the connection half-closes and lingers.
    private(set) var ending = false
    private var lingering = false
    /// How long an ending connection waits for its peer to close (a server's); nil
    /// closes at once (a client's: it has nothing more to tell).
    var lingerTime: Duration?
    private var readSource: (any DispatchSourceRead)?
    private var writeSource: (any DispatchSourceWrite)?
    private var writeSourceActive = false
    private var output: [UInt8] = []
    private var outputStart = 0
    /// Frames gathered for one write: everything nghttp2 has to send leaves in as few
    /// syscalls as the socket allows, not one per frame.
    private var batch: [UInt8] = []
    /// A flush is queued (`scheduleFlush`).
    private var flushScheduled = false
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
    /// When bytes last arrived; keepalive pings a connection silent for too long.
    private var lastRead = DispatchTime.now()
    /// Pending `after` timers, cancelled by `close`: a closed connection's pending
    /// `asyncAfter`s kept its queue and their timers allocated until they fired (the
    /// keepalive's two hours later), about a kilobyte for every connection a server
    /// had served in that time.
    private var timers: [Int: any DispatchSourceTimer] = [:]
    private var nextTimer = 0

    init(io: any ByteStream, label: String) {
        self.io = io
        queue = DispatchQueue(label: "\(label).\(io.fd)", target: Self.loops[Int(io.fd) % Self.loops.count])
    }

    /// Event loops: every connection's queue runs on one of these serial queues, one per
    /// core, so a thousand busy connections take a core's worth of threads each, not a
    /// Dispatch worker apiece (which took the process to 261 threads and doubled the
    /// CPU per call). Nothing on a connection's queue blocks: its I/O is non-blocking.
    static let loops: [DispatchQueue] = (0..<max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))).map {
        DispatchQueue(label: "h2.loop.\($0)")
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Starts reading, on `queue`, with the session `makeSession` builds.
    func start(_ makeSession: @escaping @Sendable () -> NGHTTP2Session) {
        queue.async { [self] in
            session = makeSession()
            let source = DispatchSource.makeReadSource(fileDescriptor: io.fd, queue: queue)
            source.setEventHandler { [weak self] in self?.readable() }
            readSource = source
            source.resume()
            flush()
        }
    }

    /// Called once, on `queue`, when the connection has closed.
    func connectionClosed() {}

    /// Timers set and not yet fired or cancelled (for tests). Read on `queue`.
    var pendingTimerCount: Int { timers.count }

    /// Runs `work` on `queue` after `delay`, unless the connection closes first. Call on
    /// `queue`.
    func after(_ delay: Duration, _ work: @escaping () -> Void) {
        guard !closed else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let id = nextTimer
        nextTimer += 1
        timer.schedule(deadline: .now() + Self.dispatchInterval(delay))
        timer.setEventHandler { [weak self] in
            guard let self, let fired = self.timers.removeValue(forKey: id) else { return }
            fired.cancel()
            work()
        }
        timers[id] = timer
        timer.resume()
    }

    /// Keepalive: after `interval` without a byte from the peer, send a PING; if
    /// nothing arrives within `timeout` after it, the peer is gone (or will not
    /// answer): close. Cuts off half-open connections and silent clients.
    func startKeepalive(interval: Duration, timeout: Duration) {
        after(interval) { [weak self] in self?.keepaliveCheck(interval: interval, timeout: timeout) }
    }

    private func keepaliveCheck(interval: Duration, timeout: Duration) {
        guard !closed, session != nil else { return }
        let silentSince = lastRead
        if DispatchTime.now() >= silentSince + Self.dispatchInterval(interval) {
            session.submitPing()
            flush()
            after(timeout) { [weak self] in
                guard let self, !self.closed else { return }
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

    static func dispatchInterval(_ d: Duration) -> DispatchTimeInterval {
        let (s, atto) = d.components
        return .nanoseconds(Int(clamping: s * 1_000_000_000 + atto / 1_000_000_000))
    }

    private func readable() {
        guard !closed else { return }
        if ending { return discardInput() }
        // Bounded: a few reads per turn so one busy connection cannot starve the
        // queue's other work (handler output); the rest is picked up next turn.
        for _ in 0..<8 {
            switch io.read(into: readBuffer) {
            case .bytes(let n):
                lastRead = .now()
                do {
                    try session.receive(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]))
                } catch {
                    // nghttp2 queued a GOAWAY where the protocol calls for one; flush it, then close.
                    session.terminate(errorCode: NGHTTP2Session.protocolError)
                    endAfterOutput()
                }
                if ending {
                    flush()
                    return
                }
                // A short read drained the socket: skip the read that would say EAGAIN.
                // (Dispatch's read source is level-triggered, so nothing is missed.)
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
        // More may wait in the socket or in TLS buffers, which the read source does not see.
        queue.async { [weak self] in self?.readable() }
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
        after(lingerTime) { [weak self] in self?.close() }
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
        queue.async { [weak self] in self?.readable() }
    }

    /// Writes what nghttp2 has to send, keeping what the socket does not take.
    func flush() {
        while !closed && !lingering {
            guard drainOutput() else { return }  // blocked: the write source or a read resumes
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

    /// A flush after the work already queued: what a handler sends and its end of call
    /// (submitted from other threads, one after the other) leave in one write.
    func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        queue.async { [self] in
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
                armWriteSource()
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

    private func armWriteSource() {
        if writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: io.fd, queue: queue)
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.drainOutput() {
                    self.writeSource?.suspend()
                    self.writeSourceActive = false
                    self.flush()
                }
            }
            writeSource = source
        }
        if !writeSourceActive {
            writeSourceActive = true
            writeSource?.resume()
        }
    }

    /// Closes the connection (idempotent); subclasses end their streams in
    /// `connectionClosed`.
    func close() {
        guard !closed else { return }
        closed = true
        // The descriptor is closed only after Dispatch has let go of it (both sources'
        // cancel handlers ran): closed earlier, its number could be reused by a new
        // socket whose events the old sources would then unregister.
        let io = self.io
        let group = DispatchGroup()
        for source in [readSource as (any DispatchSourceProtocol)?, writeSource].compactMap({ $0 }) {
            group.enter()
            source.setCancelHandler { group.leave() }
        }
        if let w = writeSource, !writeSourceActive { w.resume() }
        readSource?.cancel()
        writeSource?.cancel()
        readSource = nil
        writeSource = nil
        for timer in timers.values { timer.cancel() }
        timers.removeAll()
        group.notify(queue: queue) { io.close() }
        connectionClosed()
    }
}
