import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP socket on 127.0.0.1 that accepts connections and never answers: a server
/// that hangs, for deadline tests. Not listening, it holds a port where connections
/// are refused, which no other server of the test process can take meanwhile.
/// Closing it frees the port.
final class TCPListener: @unchecked Sendable {
    let fd: Int32
    let port: Int
    private let lock = NSLock()
    private var accepted: [Int32] = []
    private var closed = false

    init(listening: Bool = true) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard ok == 0, !listening || listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Accepts connections on a thread of its own and keeps them open, silent.
    func acceptSilently() {
        Thread.detachNewThread { [self] in
            while true {
                let c = accept(fd, nil, nil)
                guard c >= 0 else { return }
                lock.lock()
                if closed { Glibc.close(c) } else { accepted.append(c) }
                lock.unlock()
            }
        }
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
        for c in accepted { Glibc.close(c) }
    }
}
