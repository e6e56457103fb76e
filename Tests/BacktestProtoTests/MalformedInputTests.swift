import Testing

@testable import BacktestProto

/// Decoding untrusted bytes: every bad input is a typed `ProtoError`, never a crash
/// or a leak (this suite also runs under AddressSanitizer/LeakSanitizer, see README).
@Suite struct MalformedInputTests {
    private let startName = StartBacktestRequest.protoName

    @Test func everyTruncationOfEverySampleDecodesOrThrowsTypedError() throws {
        var truncations = 0
        for type in allSampleTypes {
            truncations += try truncate(type)
        }
        #expect(truncations > 1000)
    }

    private func truncate<M: ProtoMessage & SampleFillable>(_ type: M.Type) throws -> Int {
        var n = 0
        for v in 0..<M.sampleVariants {
            let bytes = try M.sample(v, depth: 0).serializedBytes()
            for cut in 0..<bytes.count {
                do {
                    _ = try M(serializedBytes: Array(bytes[0..<cut]))
                } catch is ProtoError {
                    // A typed error is the right answer for a cut inside a field.
                }
                n += 1
            }
        }
        return n
    }

    @Test func cutInsideTheLastFieldIsMalformed() throws {
        let bytes = try StartBacktestRequest(symbol: "GOOG", timeframe: "1d").serializedBytes()
        #expect(throws: ProtoError.malformed(message: startName)) {
            try StartBacktestRequest(serializedBytes: Array(bytes.dropLast()))
        }
    }

    @Test func wrongWireTypes() {
        // symbol (field 1, a string) sent as a varint.
        #expect(throws: ProtoError.malformed(message: startName)) {
            try StartBacktestRequest(serializedBytes: [0x08, 0x01])
        }
        // initial_capital (field 5, a double) sent as a length-delimited field.
        #expect(throws: ProtoError.malformed(message: startName)) {
            try StartBacktestRequest(serializedBytes: [0x2A, 0x01, 0x00])
        }
        // start_time (field 3, a message) sent as fixed32.
        #expect(throws: ProtoError.malformed(message: startName)) {
            try StartBacktestRequest(serializedBytes: [0x1D, 0, 0, 0, 0])
        }
    }

    @Test func lengthsPastTheEnd() {
        // A 4 GiB string length with one byte behind it.
        #expect(throws: ProtoError.malformed(message: startName)) {
            try StartBacktestRequest(serializedBytes: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x61])
        }
        // A length varint longer than ten bytes.
        #expect(throws: ProtoError.malformed(message: startName)) {
            try StartBacktestRequest(serializedBytes: [0x0A] + [UInt8](repeating: 0xFF, count: 11) + [0x01])
        }
        // A nested message whose length overruns its parent.
        #expect(throws: ProtoError.malformed(message: startName)) {
            try StartBacktestRequest(serializedBytes: [0x1A, 0x05, 0x08, 0x01])
        }
        // A packed double column whose byte length is not a multiple of 8.
        #expect(throws: ProtoError.malformed(message: CandleBatch.protoName)) {
            try CandleBatch(serializedBytes: [0x12, 0x07, 1, 2, 3, 4, 5, 6, 7])
        }
    }

    @Test func invalidUTF8NamesTheField() {
        #expect(throws: ProtoError.invalidUTF8(field: "backtest.v1.StartBacktestRequest.symbol")) {
            try StartBacktestRequest(serializedBytes: [0x0A, 0x02, 0xC3, 0x28])
        }
        // Deep inside: strategy(6) -> rules(2) -> rules(2) -> expression(3).
        let expression: [UInt8] = [0x1A, 0x01, 0xFF]
        let rule: [UInt8] = [0x12, UInt8(expression.count)] + expression
        let rules: [UInt8] = [0x12, UInt8(rule.count)] + rule
        let bytes: [UInt8] = [0x32, UInt8(rules.count)] + rules
        #expect(throws: ProtoError.invalidUTF8(field: "backtest.v1.Rule.expression")) {
            try StartBacktestRequest(serializedBytes: bytes)
        }
        // A map key: labels(13) entry with key 0xFE.
        let entry: [UInt8] = [0x0A, 0x01, 0xFE, 0x12, 0x01, 0x61]
        #expect(throws: ProtoError.invalidUTF8(field: "backtest.v1.StartBacktestRequest.labels.key")) {
            try StartBacktestRequest(serializedBytes: [0x6A, UInt8(entry.count)] + entry)
        }
        // Overlong encoding and a lone surrogate are not UTF-8 either.
        #expect(throws: ProtoError.invalidUTF8(field: "backtest.v1.StartBacktestRequest.symbol")) {
            try StartBacktestRequest(serializedBytes: [0x0A, 0x02, 0xC0, 0xAF])
        }
        #expect(throws: ProtoError.invalidUTF8(field: "backtest.v1.StartBacktestRequest.symbol")) {
            try StartBacktestRequest(serializedBytes: [0x0A, 0x03, 0xED, 0xA0, 0x80])
        }
    }

    @Test func unknownFieldsAreSkipped() throws {
        let known = try StartBacktestRequest(symbol: "GOOG").serializedBytes()
        // field 99 varint, field 100 length-delimited, field 101 fixed64, field 102 fixed32.
        let unknown: [UInt8] = [
            0x98, 0x06, 0x2A, 0xA2, 0x06, 0x02, 0x68, 0x69,
            0xA9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0xB5, 0x06, 1, 2, 3, 4,
        ]
        let decoded = try StartBacktestRequest(serializedBytes: unknown + known + unknown)
        #expect(decoded == StartBacktestRequest(symbol: "GOOG"))
    }

    @Test func undefinedEnumValuesNameTheField() {
        // ProgressEvent.status (field 4) = 99.
        #expect(throws: ProtoError.invalidEnumValue(field: "backtest.v1.ProgressEvent.status", value: 99)) {
            try ProgressEvent(serializedBytes: [0x20, 99])
        }
        // -1 as a ten-byte varint.
        #expect(throws: ProtoError.invalidEnumValue(field: "backtest.v1.ProgressEvent.status", value: -1)) {
            try ProgressEvent(serializedBytes: [0x20] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        }
        // In a repeated, packed enum: ListSessionsRequest.statuses (field 1) = [1, 42].
        #expect(throws: ProtoError.invalidEnumValue(field: "backtest.v1.ListSessionsRequest.statuses", value: 42)) {
            try ListSessionsRequest(serializedBytes: [0x0A, 0x02, 0x01, 42])
        }
    }

    @Test func aLaterOneofMemberReplacesAnEarlierOne() throws {
        // ImportMarketDataRequest: header(1) {symbol "A"} then csv_chunk(4) "x".
        let bytes: [UInt8] = [0x0A, 0x03, 0x0A, 0x01, 0x41, 0x22, 0x01, 0x78]
        let decoded = try ImportMarketDataRequest(serializedBytes: bytes)
        #expect(decoded.payload == .csvChunk([0x78]))
        // And back: csv_chunk then header.
        let reversed: [UInt8] = [0x22, 0x01, 0x78, 0x0A, 0x03, 0x0A, 0x01, 0x41]
        #expect(try ImportMarketDataRequest(serializedBytes: reversed).payload == .header(ImportHeader(symbol: "A")))
    }

    @Test func randomBytesNeverCrash() {
        var rng = SplitMix64(seed: 0x5EED)
        var decoded = 0, rejected = 0
        for i in 0..<20_000 {
            let count = Int(rng.next() % 96)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let type = allSampleTypes[i % allSampleTypes.count]
            if decodes(type, bytes) { decoded += 1 } else { rejected += 1 }
        }
        #expect(decoded + rejected == 20_000)
        #expect(rejected > 0)
    }

    @Test func mutatedValidMessagesNeverCrash() throws {
        var rng = SplitMix64(seed: 42)
        var outcomes = 0
        for type in allSampleTypes {
            outcomes += try mutate(type, &rng)
        }
        #expect(outcomes > 0)
    }

    private func mutate<M: ProtoMessage & SampleFillable>(_ type: M.Type, _ rng: inout SplitMix64) throws -> Int {
        var n = 0
        for v in 0..<M.sampleVariants {
            let valid = try M.sample(v, depth: 0).serializedBytes()
            guard !valid.isEmpty else { continue }
            for _ in 0..<200 {
                var bytes = valid
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 3 {
                    case 0: bytes[at] ^= UInt8(1 << (rng.next() % 8))
                    case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
                    default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
                    }
                }
                _ = decodes(M.self, bytes)
                n += 1
            }
        }
        return n
    }

    private func decodes<M: ProtoMessage>(_ type: M.Type, _ bytes: [UInt8]) -> Bool {
        do {
            _ = try M(serializedBytes: bytes)
            return true
        } catch is ProtoError {
            return false
        } catch {
            Issue.record("untyped error \(error) for \(M.protoName)")
            return false
        }
    }
}

/// A small, seeded generator so failures reproduce.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
