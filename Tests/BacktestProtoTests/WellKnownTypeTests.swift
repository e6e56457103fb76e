import Testing

@testable import BacktestProto

@Suite struct WellKnownTypeTests {
    @Test(arguments: [
        Int64(0), 1, -1, 999_999, -999_999, 1_000_000, -1_000_001,
        1_362_096_000_123_456, -62_135_596_800_000_000, 253_402_300_799_999_999,
    ])
    func timestampMicrosecondsRoundTrip(us: Int64) {
        let ts = ProtoTimestamp(microsecondsSinceEpoch: us)
        #expect(ts.nanos >= 0 && ts.nanos < 1_000_000_000)
        #expect(ts.microsecondsSinceEpoch == us)
    }

    @Test func timestampValidity() {
        #expect(!ProtoTimestamp(seconds: 0, nanos: -1).isValid)
        #expect(!ProtoTimestamp(seconds: 0, nanos: 1_000_000_000).isValid)
        #expect(!ProtoTimestamp(seconds: ProtoTimestamp.maxSeconds + 1, nanos: 0).isValid)
        #expect(ProtoTimestamp(seconds: 0, nanos: 0) < ProtoTimestamp(seconds: 0, nanos: 1))
        #expect(ProtoTimestamp(seconds: -1, nanos: 999_999_999) < ProtoTimestamp(seconds: 0, nanos: 0))
    }

    @Test func durations() {
        #expect(ProtoDuration(microseconds: -1_500_000) == ProtoDuration(seconds: -1, nanos: -500_000_000))
        #expect(ProtoDuration(microseconds: -1_500_000).microseconds == -1_500_000)
        #expect(ProtoDuration(.milliseconds(250)) == ProtoDuration(seconds: 0, nanos: 250_000_000))
        #expect(ProtoDuration(seconds: 1, nanos: 5).swiftDuration == .seconds(1) + .nanoseconds(5))
        #expect(!ProtoDuration(seconds: 1, nanos: -1).isValid)
        #expect(ProtoDuration(seconds: 1, nanos: -1).microseconds == nil)
    }
}
