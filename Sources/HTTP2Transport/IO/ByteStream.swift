#if canImport(Glibc)
    import Glibc
#endif

/// A connected, non-blocking byte stream: a plain TCP socket or TLS over one.
protocol ByteStream: AnyObject {
    var fd: Int32 { get }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Socket.IOResult
    func write(_ bytes: UnsafeRawBufferPointer) -> Socket.IOResult
    /// Bytes already received and decrypted but not read yet (TLS records).
    var hasBufferedInput: Bool { get }
    func close()
}

/// Cleartext TCP (h2c with prior knowledge).
final class PlainStream: ByteStream {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Socket.IOResult { Socket.read(fd, into: buffer) }
    func write(_ bytes: UnsafeRawBufferPointer) -> Socket.IOResult { Socket.write(fd, bytes) }
    var hasBufferedInput: Bool { false }
    func close() { Glibc.close(fd) }
}
