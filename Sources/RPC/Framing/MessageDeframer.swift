/// Splits a byte stream into gRPC length-prefixed messages: 1 byte compressed flag,
/// 4 bytes big-endian length, then the message. DATA frame boundaries have nothing
/// to do with message boundaries, so bytes are buffered across `append` calls.
public struct MessageDeframer: Sendable {
    public struct Message: Sendable, Equatable {
        public var compressed: Bool
        public var bytes: [UInt8]
    }

    public let maxMessageSize: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// Bytes received but not yet part of a complete message.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Appends `bytes` and returns the messages now complete. A declared length over
    /// the limit is RESOURCE_EXHAUSTED before the message is even buffered.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws(RPCError) -> [Message] {
        guard buffer.isEmpty else {
            buffer.append(contentsOf: bytes)
            return try drain()
        }
        // Nothing buffered: whole messages are copied straight out of `bytes` and only a
        // partial one is kept. A unary request arrives whole, and buffering it first
        // cost an allocation a call.
        var out: [Message] = []
        var at = 0
        while bytes.count - at >= 5 {
            let length = try checkedLength(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3], bytes[at + 4])
            guard bytes.count - at - 5 >= length else { break }
            out.append(Message(compressed: bytes[at] == 1, bytes: Array(bytes[(at + 5)..<(at + 5 + length)])))
            at += 5 + length
        }
        if at < bytes.count { buffer.append(contentsOf: bytes[at...]) }
        return out
    }

    /// A message prefix's length, checked: the flag says compressed or not, and the
    /// length is within the limit.
    private func checkedLength(_ flag: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8)
        throws(RPCError) -> Int
    {
        let length = Int(b1) << 24 | Int(b2) << 16 | Int(b3) << 8 | Int(b4)
        guard flag <= 1 else {
            throw RPCError(.internal, "invalid gRPC message prefix: compressed flag \(flag)")
        }
        guard length <= maxMessageSize else {
            throw RPCError(
                .resourceExhausted, "message of \(length) bytes is over the limit of \(maxMessageSize) bytes")
        }
        return length
    }

    private mutating func drain() throws(RPCError) -> [Message] {
        var out: [Message] = []
        while buffer.count - start >= 5 {
            let flag = buffer[start]
            let length = try checkedLength(
                flag, buffer[start + 1], buffer[start + 2], buffer[start + 3], buffer[start + 4])
            guard buffer.count - start - 5 >= length else { break }
            out.append(Message(compressed: flag == 1, bytes: Array(buffer[(start + 5)..<(start + 5 + length)])))
            start += 5 + length
        }
        // Compact once the consumed prefix dominates, so the buffer stays bounded.
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 0 && start * 2 >= buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return out
    }

    public mutating func append(_ bytes: [UInt8]) throws(RPCError) -> [Message] {
        buffer.append(contentsOf: bytes)
        return try drain()
    }
}

/// Frames one message for the wire.
public enum MessageFramer {
    public static func frame(_ message: [UInt8], compressed: Bool = false) -> [UInt8] {
        frame(message, flags: compressed ? 1 : 0)
    }

    /// An envelope with other flags: gRPC-Web's trailers (0x80), Connect's end of
    /// stream (0x02).
    public static func frame(_ message: [UInt8], flags: UInt8) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(message.count + 5)
        let n = UInt32(message.count)
        out.append(flags)
        out.append(UInt8(n >> 24))
        out.append(UInt8(n >> 16 & 0xFF))
        out.append(UInt8(n >> 8 & 0xFF))
        out.append(UInt8(n & 0xFF))
        out.append(contentsOf: message)
        return out
    }
}
