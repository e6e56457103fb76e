import CLinux
import RPC

#if canImport(Glibc)
    import Glibc
#endif

/// Thin, typed helpers over the BSD socket calls the transport needs.
enum Socket {
    struct Error: Swift.Error, CustomStringConvertible {
        var call: String
        var errno: Int32
        var description: String { "\(call): \(String(cString: strerror(errno)))" }
    }

    /// A non-blocking IPv4 listener; returns the descriptor and the bound port.
    static func listen(host: String, port: Int, backlog: Int32 = 1024) throws(Error) -> (fd: Int32, port: Int) {
        let fd = socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Error(call: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw Error(call: "inet_pton(\(host))", errno: EINVAL)
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let e = errno
            close(fd)
            throw Error(call: "bind(\(host):\(port))", errno: e)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = errno
            close(fd)
            throw Error(call: "listen", errno: e)
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, Int(UInt16(bigEndian: actual.sin_port)))
    }

    enum AcceptResult {
        case accepted(fd: Int32, peer: String)
        /// No connection is waiting.
        case empty
        case failed(Int32)
    }

    /// The next pending connection, non-blocking with TCP_NODELAY.
    static func accept(_ listener: Int32) -> AcceptResult {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                backtest_accept_nonblocking(listener, $0, &len)
            }
        }
        guard fd >= 0 else {
            let e = errno
            return e == EAGAIN || e == EWOULDBLOCK ? .empty : .failed(e)
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &addr.sin_addr, &text, socklen_t(INET_ADDRSTRLEN))
        let host = text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        return .accepted(fd: fd, peer: "\(host):\(UInt16(bigEndian: addr.sin_port))")
    }

    enum IOResult {
        case bytes(Int)
        case wouldBlock
        /// TLS: the write cannot go on until the peer sends (handshake); the next
        /// readable event retries it.
        case needsRead
        case closed
        case failed(Int32)
    }

    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .closed }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        default: return .failed(errno)
        }
    }

    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        if n >= 0 { return .bytes(n) }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR: return .wouldBlock
        default: return .failed(errno)
        }
    }
}

extension Socket {
    /// Connects to an IPv4 address or a host name, waiting at most `timeout`; the
    /// returned socket is non-blocking with TCP_NODELAY. Errors are UNAVAILABLE.
    static func connect(host: String, port: Int, timeout: Duration) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_INET
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw RPCError(.unavailable, "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        let fd = socket(
            AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RPCError(.unavailable, "socket: \(String(cString: strerror(errno)))") }
        var rc = Glibc.connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen)
        if rc != 0 && errno == EINPROGRESS {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let (s, atto) = timeout.components
            let ms = Int32(clamping: s * 1000 + atto / 1_000_000_000_000_000)
            if poll(&pfd, 1, ms) == 1 {
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                rc = err == 0 ? 0 : -1
                errno = err
            } else {
                errno = ETIMEDOUT
            }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            throw RPCError(.unavailable, "cannot connect to \(host):\(port): \(String(cString: strerror(e)))")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }
}
