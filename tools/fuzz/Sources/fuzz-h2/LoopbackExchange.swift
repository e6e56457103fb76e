import FuzzSupport

#if canImport(Glibc)
    import Glibc
#endif

/// One client connection's bytes over loopback TCP: everything written, then the
/// write side closed, then everything the server sends read until it closes.
enum LoopbackExchange {
    enum Outcome {
        /// The server closed the connection; its bytes.
        case closed([UInt8])
        /// The server kept the connection open past the deadline.
        case hung([UInt8])
    }

    /// The client address cycles over 127.0.0.2-254: each exchange leaves its port in
    /// TIME_WAIT (the client closes first), and one address would run out of ports.
    nonisolated(unsafe) private static var nextAddress: UInt32 = 2

    static func run(port: Int, input: UnsafeBufferPointer<UInt8>, deadline: Duration, keep: Int = 1 << 20)
        -> Outcome
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        Fuzz.check(fd >= 0, "socket: errno \(errno)")
        defer { close(fd) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = (0x7F00_0000 | nextAddress).bigEndian
        nextAddress = nextAddress == 254 ? 2 : nextAddress + 1
        var server = sockaddr_in()
        server.sin_family = sa_family_t(AF_INET)
        server.sin_port = UInt16(port).bigEndian
        server.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) }
        }
        Fuzz.check(bound == 0, "bind: errno \(errno)")
        // Non-blocking from the start: libFuzzer's timer signal interrupts a blocking
        // connect (EINTR); the connection completes when the socket turns writable.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let connected = withUnsafePointer(to: &server) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) }
        }
        if connected != 0 {
            Fuzz.check(errno == EINPROGRESS || errno == EINTR, "connect to the server: errno \(errno)")
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            while poll(&p, 1, 5000) < 0 && errno == EINTR {}
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            Fuzz.check(p.revents & Int16(POLLOUT) != 0 && error == 0, "connect to the server: error \(error)")
        }

        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var written = 0
        var writeClosed = false
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if !writeClosed && written == input.count {
                _ = shutdown(fd, Int32(SHUT_WR))
                writeClosed = true
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN) | (writeClosed ? 0 : Int16(POLLOUT)), revents: 0)
            guard poll(&p, 1, 50) >= 0 || errno == EINTR else { Fuzz.fail("poll: errno \(errno)") }
            if !writeClosed && p.revents & Int16(POLLOUT) != 0 {
                let n = send(fd, input.baseAddress! + written, input.count - written, Int32(MSG_NOSIGNAL))
                if n > 0 {
                    written += n
                } else if n < 0 && errno != EAGAIN && errno != EINTR {
                    // The server closed on us (EPIPE, ECONNRESET): the rest is not read.
                    writeClosed = true
                }
            }
            if p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if received.count < keep { received += buffer[0..<min(n, keep - received.count)] }
                } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                    return .closed(received)
                }
            }
        }
        return .hung(received)
    }
}
