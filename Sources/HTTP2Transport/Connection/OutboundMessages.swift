/// A stream's framed messages waiting for nghttp2 to ask for DATA, in order.
struct OutboundMessages {
    /// The chunk being sent, kept apart from the ones queued behind it: a unary
    /// response is one chunk, and an array for it would cost an allocation a call.
    private var current: [UInt8] = []
    private var offset = 0
    private var queued: [[UInt8]] = []
    private var head = 0
    private(set) var byteCount = 0

    var isEmpty: Bool { byteCount == 0 }

    mutating func append(_ frame: [UInt8]) {
        guard !frame.isEmpty else { return }
        if offset == current.count && head == queued.count {
            current = frame
            offset = 0
        } else {
            queued.append(frame)
        }
        byteCount += frame.count
    }

    /// Copies as much as fits into `buffer`; returns the bytes copied.
    mutating func copy(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        while written < buffer.count {
            if offset == current.count {
                guard head < queued.count else { break }
                current = queued[head]
                queued[head] = []
                offset = 0
                head += 1
                if head == queued.count {
                    queued.removeAll(keepingCapacity: true)
                    head = 0
                }
            }
            let n = min(buffer.count - written, current.count - offset)
            current.withUnsafeBytes { src in
                (buffer.baseAddress! + written).copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
            written += n
            offset += n
        }
        byteCount -= written
        if offset == current.count && !current.isEmpty {
            // Sent: its memory goes now, not with the next message.
            current = []
            offset = 0
        }
        return written
    }
}
