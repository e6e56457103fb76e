internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// The only owner of OpenSSL objects: an `SSL_CTX` for a server or a client, and the
/// `SSL` of each connection (`TLSStream`). Freed deterministically in deinit.
public final class TLSContext: @unchecked Sendable {
    // SSL_CTX is safe to share across threads once configured; it is not changed after init.
    let ctx: OpaquePointer

    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    /// A server context from PEM files; ALPN must agree on `h2` or `http/1.1` (when the
    /// client offers ALPN at all) or the handshake fails.
    public static func server(certificateChainFile: String, privateKeyFile: String) throws -> TLSContext {
        let context = try TLSContext(method: TLS_server_method())
        guard SSL_CTX_use_certificate_chain_file(context.ctx, certificateChainFile) == 1 else {
            throw Error(description: "TLS certificate \(certificateChainFile): \(Self.lastError())")
        }
        guard SSL_CTX_use_PrivateKey_file(context.ctx, privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            throw Error(description: "TLS private key \(privateKeyFile): \(Self.lastError())")
        }
        guard SSL_CTX_check_private_key(context.ctx) == 1 else {
            throw Error(description: "TLS private key does not match the certificate: \(Self.lastError())")
        }
        SSL_CTX_set_alpn_select_cb(
            context.ctx,
            { _, out, outLength, offered, offeredLength, _ in
                // h2 if the client offers it, else http/1.1 (browsers' fallback, HTTP/1.1
                // clients); from the client's list of length-prefixed names.
                guard let offered, let out, let outLength else { return COPENSSL_TLSEXT_ERR_ALERT_FATAL }
                for wanted in ["h2", "http/1.1"] {
                    let name = Array(wanted.utf8)
                    var i = 0
                    while i < Int(offeredLength) {
                        let n = Int(offered[i])
                        if n == name.count, i + n < Int(offeredLength),
                            UnsafeBufferPointer(start: offered + i + 1, count: n).elementsEqual(name)
                        {
                            out.pointee = offered + i + 1
                            outLength.pointee = UInt8(n)
                            return COPENSSL_TLSEXT_ERR_OK
                        }
                        i += 1 + n
                    }
                }
                return COPENSSL_TLSEXT_ERR_ALERT_FATAL
            }, nil)
        return context
    }

    /// A client context that verifies the server against `caFile` (or the system's
    /// trust store when nil) and offers ALPN `h2`.
    public static func client(caFile: String?) throws -> TLSContext {
        let context = try TLSContext(method: TLS_client_method())
        if let caFile {
            guard SSL_CTX_load_verify_locations(context.ctx, caFile, nil) == 1 else {
                throw Error(description: "TLS CA file \(caFile): \(Self.lastError())")
            }
        } else {
            SSL_CTX_set_default_verify_paths(context.ctx)
        }
        SSL_CTX_set_verify(context.ctx, SSL_VERIFY_PEER, nil)
        var protos: [UInt8] = [2, UInt8(ascii: "h"), UInt8(ascii: "2")]
        SSL_CTX_set_alpn_protos(context.ctx, &protos, UInt32(protos.count))
        return context
    }

    private init(method: OpaquePointer?) throws {
        guard let ctx = SSL_CTX_new(method) else { throw Error(description: "SSL_CTX_new: \(Self.lastError())") }
        self.ctx = ctx
        _ = copenssl_ctx_set_min_tls12(ctx)
        _ = copenssl_ctx_set_mode(ctx, COPENSSL_MODE_PARTIAL_AND_MOVING)
    }

    deinit {
        SSL_CTX_free(ctx)
    }

    static func lastError() -> String {
        let code = ERR_get_error()
        guard code != 0 else { return "unknown error" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

/// TLS over a non-blocking socket. The handshake happens inside the first reads and
/// writes; `negotiatedH2` tells whether ALPN chose h2.
final class TLSStream: ByteStream {
    let fd: Int32
    private let ssl: OpaquePointer
    private let context: TLSContext

    init?(fd: Int32, context: TLSContext, server: Bool, hostname: String? = nil) {
        guard let ssl = SSL_new(context.ctx) else { return nil }
        self.fd = fd
        self.ssl = ssl
        self.context = context
        SSL_set_fd(ssl, fd)
        if server {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let hostname {
                _ = copenssl_set_tlsext_host_name(ssl, hostname)
                SSL_set1_host(ssl, hostname)
            }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    var negotiatedH2: Bool { negotiatedProtocol == "h2" }

    /// The protocol ALPN chose (`h2`, `http/1.1`); nil when the client offered none.
    var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Socket.IOResult {
        ERR_clear_error()
        let n = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return .bytes(Int(n)) }
        return outcome(n)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Socket.IOResult {
        guard bytes.count > 0 else { return .bytes(0) }
        ERR_clear_error()
        let n = SSL_write(ssl, bytes.baseAddress, Int32(min(bytes.count, Int(Int32.max))))
        if n > 0 { return .bytes(Int(n)) }
        let result = outcome(n)
        if case .wouldBlock = result, SSL_is_init_finished(ssl) == 0 { return .needsRead }
        return result
    }

    private func outcome(_ rv: Int32) -> Socket.IOResult {
        switch SSL_get_error(ssl, rv) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .wouldBlock
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL where errno == EAGAIN: return .wouldBlock
        default: return .failed(EPROTO)
        }
    }

    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    func close() {
        SSL_shutdown(ssl)
        Glibc.close(fd)
    }
}
