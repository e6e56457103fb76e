import Testing

@testable import GRPCServices

/// The JSON of a method's last small response is reused for the same bytes only.
@Suite struct LastTranscodingTests {
    @Test func theSameBytesGetTheRememberedOutputOnly() {
        let last = LastTranscoding()
        let event: [UInt8] = [0x0A, 0x03, 0x61, 0x62, 0x63]
        #expect(last.output(for: event) == nil)
        last.remember(event, Array(#"{"sessionId":"abc"}"#.utf8))
        #expect(last.output(for: event) == Array(#"{"sessionId":"abc"}"#.utf8))
        #expect(last.output(for: [0x0A, 0x03, 0x61, 0x62, 0x64]) == nil, "one byte differs")
        #expect(last.output(for: Array(event.dropLast())) == nil, "a prefix")
        // A newer response replaces it.
        last.remember([0x08, 0x01], Array(#"{"status":"SERVING"}"#.utf8))
        #expect(last.output(for: event) == nil)
        #expect(last.output(for: [0x08, 0x01]) == Array(#"{"status":"SERVING"}"#.utf8))
    }

    @Test func largeMessagesAreNotKept() {
        let last = LastTranscoding()
        let batch = [UInt8](repeating: 7, count: LastTranscoding.maxBytes + 1)
        last.remember(batch, [1])
        #expect(last.output(for: batch) == nil)
    }
}
