import Testing

@testable import RPC

@Suite struct MessageDeframerTests {
    @Test func messagesSplitAcrossAnyBoundaries() throws {
        let messages: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), [9, 9]]
        let wire = messages.flatMap { MessageFramer.frame($0) }
        for chunk in [1, 2, 3, 5, 7, 64, wire.count] {
            var deframer = MessageDeframer(maxMessageSize: 1000)
            var got: [[UInt8]] = []
            var i = 0
            while i < wire.count {
                let piece = Array(wire[i..<min(i + chunk, wire.count)])
                got += try deframer.append(piece).map(\.bytes)
                i += chunk
            }
            #expect(got == messages, "chunk size \(chunk)")
            #expect(deframer.bufferedByteCount == 0)
        }
    }

    /// The same through the transport's entry point, which copies whole messages
    /// straight out of its input while nothing is buffered.
    @Test func messagesSplitAcrossAnyBoundariesFromRawInput() throws {
        let messages: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), [9, 9]]
        let wire = messages.flatMap { MessageFramer.frame($0) } + [1] + MessageFramer.frame([4]).dropFirst()
        for chunk in [1, 2, 3, 5, 7, 64, 306, wire.count] {
            var deframer = MessageDeframer(maxMessageSize: 1000)
            var got: [MessageDeframer.Message] = []
            var i = 0
            while i < wire.count {
                let piece = Array(wire[i..<min(i + chunk, wire.count)])
                got += try piece.withUnsafeBytes { bytes throws(RPCError) in try deframer.append(bytes) }
                i += chunk
            }
            #expect(got.map(\.bytes) == messages + [[4]], "chunk size \(chunk)")
            #expect(got.map(\.compressed) == [false, false, false, false, true], "chunk size \(chunk)")
            #expect(deframer.bufferedByteCount == 0)
        }
        var deframer = MessageDeframer(maxMessageSize: 10)
        #expect(throws: RPCError(.internal, "invalid gRPC message prefix: compressed flag 2")) {
            try [UInt8]([2, 0, 0, 0, 0]).withUnsafeBytes { bytes throws(RPCError) in try deframer.append(bytes) }
        }
    }

    @Test func oversizedMessageIsRejectedFromItsPrefix() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        #expect(throws: RPCError(.resourceExhausted, "message of 11 bytes is over the limit of 10 bytes")) {
            try deframer.append([0, 0, 0, 0, 11])
        }
    }

    @Test func invalidCompressedFlag() {
        var deframer = MessageDeframer(maxMessageSize: 10)
        #expect(throws: RPCError(.internal, "invalid gRPC message prefix: compressed flag 2")) {
            try deframer.append([2, 0, 0, 0, 0])
        }
    }
}

@Suite struct GRPCTimeoutTests {
    @Test func parsesEveryUnit() {
        #expect(GRPCTimeout.parse("1H") == .seconds(3600))
        #expect(GRPCTimeout.parse("2M") == .seconds(120))
        #expect(GRPCTimeout.parse("3S") == .seconds(3))
        #expect(GRPCTimeout.parse("250m") == .milliseconds(250))
        #expect(GRPCTimeout.parse("99999999u") == .microseconds(99_999_999))
        #expect(GRPCTimeout.parse("5n") == .nanoseconds(5))
    }

    @Test func rejectsMalformedValues() {
        for bad in ["", "S", "1", "123456789S", "1x", "-1S", "1.5S", " 1S"] {
            #expect(GRPCTimeout.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func formatsWithinEightDigits() {
        #expect(GRPCTimeout.format(.milliseconds(250)) == "250000u")
        #expect(GRPCTimeout.format(.seconds(3600 * 24 * 365)).count <= 9)
    }
}

@Suite struct MetadataTests {
    @Test func binaryValuesAreBase64UnpaddedAndAcceptPadding() {
        var md = Metadata()
        md.add("x-trace-bin", binary: [0, 1, 0xFE, 0xFF])
        md.add("x-user", "ana")
        #expect(md.headerFields().map { $0.1 } == ["AAH+/w", "ana"])
        let back = Metadata.fromHeaderFields([
            ("x-trace-bin", "AAH+/w=="), ("x-user", "ana"), (":path", "/x"), ("te", "trailers"),
        ])
        #expect(back.binaryValues("x-trace-bin") == [[0, 1, 0xFE, 0xFF]])
        #expect(back["x-user"] == "ana")
        #expect(back.entries.count == 2)
        #expect(Metadata.fromHeaderFields([("x-bad-bin", "!!")]).isEmpty)
    }

    @Test func statusMessagesArePercentEncoded() {
        #expect(StatusMessageCoding.encode("nöt 100%\n") == "n%C3%B6t 100%25%0A")
        #expect(StatusMessageCoding.decode("n%C3%B6t 100%25%0A") == "nöt 100%\n")
        #expect(StatusMessageCoding.decode("bad %zz escape %") == "bad %zz escape %")
    }
}

@Suite struct GzipTests {
    @Test func roundTrip() throws {
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 % 251) }
        let packed = Gzip.compress(data)
        #expect(packed.count < data.count)
        #expect(try Gzip.decompress(packed, limit: 1 << 20) == data)
        #expect(try Gzip.decompress(Gzip.compress([]), limit: 10) == [])
    }

    @Test func boundedAndValidated() {
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 1 << 20))
        #expect(throws: RPCError(.resourceExhausted, "decompressed message is over the limit of 1000 bytes")) {
            try Gzip.decompress(bomb, limit: 1000)
        }
        #expect(throws: RPCError(.internal, "gzip: the message is not valid gzip data")) {
            try Gzip.decompress([1, 2, 3, 4], limit: 1000)
        }
        let truncated = Array(Gzip.compress(Array(repeating: 9, count: 5000)).dropLast(10))
        #expect(throws: RPCError.self) { try Gzip.decompress(truncated, limit: 1 << 20) }
    }
}
