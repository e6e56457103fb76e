/// A stream's framed messages waiting for nghttp2 to ask for DATA, in order.
struct OutboundMessages {
    private var chunks: [[UInt8]] = []
    private var head = 0
    private var offset = 0
    private(set) var byteCount = 0

    var isEmpty: Bool { byteCount == 0 }

    mutating func append(_ frame: [UInt8]) {
        chunks.append(frame)
        byteCount += frame.count
    }

    /// Copies as much as fits into `buffer`; returns the bytes copied.
    mutating func copy(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var written = 0
        while written < buffer.count, head < chunks.count {
            let chunk = chunks[head]
            let n = min(buffer.count - written, chunk.count - offset)
            chunk.withUnsafeBytes { src in
                (buffer.baseAddress! + written).copyMemory(from: src.baseAddress! + offset, byteCount: n)
            }
            written += n
            offset += n
            if offset == chunk.count {
                head += 1
                offset = 0
            }
        }
        byteCount -= written
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        }
        return written
    }
}
