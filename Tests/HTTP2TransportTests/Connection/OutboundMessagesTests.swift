import Testing

@testable import HTTP2Transport

/// A stream's queued messages leave in order, whole, whatever the sizes nghttp2 asks for.
@Suite struct OutboundMessagesTests {
    @Test func messagesLeaveInOrderInAnyPieces() {
        let frames: [[UInt8]] = [[1, 2, 3], [], Array(repeating: 4, count: 100), [5], [6, 7]]
        for size in [1, 2, 3, 7, 64, 200] {
            var queue = OutboundMessages()
            var out: [UInt8] = []
            var next = 0
            // Messages keep arriving while earlier ones are being copied out.
            while next < frames.count || !queue.isEmpty {
                if next < frames.count {
                    queue.append(frames[next])
                    next += 1
                }
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
                defer { buffer.deallocate() }
                let n = queue.copy(into: buffer)
                out += buffer[0..<n]
            }
            #expect(out == frames.flatMap { $0 }, "pieces of \(size)")
            #expect(queue.byteCount == 0)
        }
    }
}
