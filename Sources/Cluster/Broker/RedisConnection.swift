import CHiredis
import Glibc

/// One connection to a Redis server, on hiredis's blocking API: a command is written
/// and its reply read before the call returns. Arguments go as byte strings with their
/// lengths (binary-safe: no quoting, nothing a value can inject). One thread at a time
/// uses a connection; after a transport error it is unusable (`isBroken`) and the
/// owner opens another.
public final class RedisConnection {
    private let context: UnsafeMutablePointer<redisContext>
    /// Where it connects, for error messages.
    public let address: String

    /// Connects to `host:port` within `timeout`; every later read or write must also
    /// finish within `timeout`, else it fails with `.io` (a server that hangs does not
    /// hang its caller).
    public init(host: String, port: Int, timeout: Duration = .seconds(5)) throws(RedisError) {
        address = "\(host):\(port)"
        let tv = Self.timeval(max(timeout, .milliseconds(1)))
        guard let c = redisConnectWithTimeout(host, Int32(port), tv) else {
            throw .io(address: address, message: "cannot allocate a connection")
        }
        if c.pointee.err != 0 {
            let message = Self.errorText(c)
            redisFree(c)
            throw .io(address: address, message: message)
        }
        context = c
        _ = redisSetTimeout(c, tv)
        _ = redisEnableKeepAlive(c)
    }

    deinit { redisFree(context) }

    /// A transport error happened: the connection cannot be used again.
    public var isBroken: Bool { context.pointee.err != 0 }

    /// The descriptor, for waiting on it (subscribers).
    public var fileDescriptor: Int32 { context.pointee.fd }

    /// Runs one command (`["SET", key, value, "NX", "PX", "5000"]`) and returns its
    /// reply; an error reply throws `.reply`.
    @discardableResult
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    @discardableResult
    public func command(_ arguments: [[UInt8]]) throws(RedisError) -> RedisReply {
        try append(arguments)
        return try reply()
    }

    /// Sends a command without reading its reply: a subscriber's SUBSCRIBE and
    /// UNSUBSCRIBE, whose confirmations come with the messages (`nextPush`).
    public func send(_ arguments: [String]) throws(RedisError) {
        try append(arguments.map { Array($0.utf8) })
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == CREDIS_OK else {
                throw .io(address: address, message: Self.errorText(context))
            }
        }
    }

    /// Sends every command, then reads their replies in order (one round trip). An
    /// error reply is returned as `.error` in its place, so the others are still read.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        for arguments in commands { try append(arguments.map { Array($0.utf8) }) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            do {
                replies.append(try reply())
            } catch .reply(let message) {
                replies.append(.error(message))
            }
        }
        return replies
    }

    /// The next reply the server pushes (a subscriber's messages), waiting at most
    /// `timeout`; nil when none came. Waiting does not break the connection.
    public func nextPush(timeout: Duration) throws(RedisError) -> RedisReply? {
        if let buffered = try bufferedReply() { return buffered }
        var fd = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        let ms = Int32(
            clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let ready = poll(&fd, 1, max(0, ms))
        if ready < 0 && errno != EINTR { throw .io(address: address, message: String(cString: strerror(errno))) }
        guard ready > 0 else { return nil }
        guard redisBufferRead(context) == CREDIS_OK else {
            throw .io(address: address, message: Self.errorText(context))
        }
        return try bufferedReply()
    }

    // MARK: hiredis

    private func append(_ arguments: [[UInt8]]) throws(RedisError) {
        guard !isBroken else { throw .io(address: address, message: Self.errorText(context)) }
        // hiredis copies the arguments into its output buffer before returning.
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        pointers.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        let storage = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress {
                    UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            return p
        }
        defer { for p in storage { p.deallocate() } }
        for (i, p) in storage.enumerated() {
            pointers.append(UnsafePointer(p))
            lengths.append(arguments[i].count)
        }
        let status = pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { argvlen in
                redisAppendCommandArgv(context, Int32(arguments.count), argv.baseAddress, argvlen.baseAddress)
            }
        }
        guard status == CREDIS_OK else { throw .io(address: address, message: Self.errorText(context)) }
    }

    /// Reads (writing what is pending first) until one whole reply is in.
    private func reply() throws(RedisError) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == CREDIS_OK, let raw else {
            throw .io(address: address, message: Self.errorText(context))
        }
        defer { freeReplyObject(raw) }
        let value = Self.convert(raw.assumingMemoryBound(to: redisReply.self))
        if case .error(let message) = value { throw .reply(message) }
        return value
    }

    /// A whole reply already read into hiredis's buffer, if any.
    private func bufferedReply() throws(RedisError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == CREDIS_OK else {
            throw .io(address: address, message: Self.errorText(context))
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let reply = r.pointee
        func bytes() -> [UInt8] {
            guard let str = reply.str, reply.len > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: str, count: reply.len))
        }
        switch reply.type {
        case CREDIS_REPLY_STRING: return .bulk(bytes())
        case CREDIS_REPLY_STATUS: return .status(String(decoding: bytes(), as: UTF8.self))
        case CREDIS_REPLY_ERROR: return .error(String(decoding: bytes(), as: UTF8.self))
        case CREDIS_REPLY_INTEGER: return .integer(Int64(reply.integer))
        case CREDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(reply.elements)
            for i in 0..<reply.elements {
                if let element = reply.element[i] { items.append(convert(element)) } else { items.append(.null) }
            }
            return .array(items)
        default: return .null
        }
    }

    private static func errorText(_ c: UnsafeMutablePointer<redisContext>) -> String {
        let text = withUnsafeBytes(of: c.pointee.errstr) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return text.isEmpty ? "connection lost" : text
    }

    private static func timeval(_ d: Duration) -> Glibc.timeval {
        let (seconds, attoseconds) = d.components
        return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
