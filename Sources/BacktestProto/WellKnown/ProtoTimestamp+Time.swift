/// `google.protobuf.Timestamp`: seconds and nanoseconds since the Unix epoch, UTC.
/// The service keeps times as microseconds since the epoch; these convert.
extension ProtoTimestamp {
    /// The valid range of the well-known type: 0001-01-01T00:00:00Z ... 9999-12-31T23:59:59.999999999Z.
    public static let minSeconds: Int64 = -62_135_596_800
    public static let maxSeconds: Int64 = 253_402_300_799

    /// A timestamp from microseconds since the epoch (negative = before 1970).
    public init(microsecondsSinceEpoch us: Int64) {
        // Floor division keeps nanos in 0..<1e9 for times before 1970 too.
        let (q, r) = us.quotientAndRemainder(dividingBy: 1_000_000)
        if r < 0 {
            self.init(seconds: q - 1, nanos: Int32((r + 1_000_000) * 1000))
        } else {
            self.init(seconds: q, nanos: Int32(r * 1000))
        }
    }

    /// Microseconds since the epoch, rounded toward negative infinity; nil when out of
    /// Int64 range or not a valid timestamp.
    public var microsecondsSinceEpoch: Int64? {
        guard isValid else { return nil }
        return seconds * 1_000_000 + Int64(nanos / 1000)
    }

    /// Within the well-known type's range, nanos in 0..<1e9.
    public var isValid: Bool {
        seconds >= Self.minSeconds && seconds <= Self.maxSeconds && nanos >= 0 && nanos < 1_000_000_000
    }
}

extension ProtoTimestamp: Comparable {
    public static func < (a: ProtoTimestamp, b: ProtoTimestamp) -> Bool {
        (a.seconds, a.nanos) < (b.seconds, b.nanos)
    }
}
