/// `google.protobuf.Duration`: a signed span of seconds and nanoseconds; both parts
/// carry the same sign.
extension ProtoDuration {
    /// The valid range of the well-known type: about +-10,000 years.
    public static let maxSeconds: Int64 = 315_576_000_000

    /// A duration from microseconds.
    public init(microseconds us: Int64) {
        let (q, r) = us.quotientAndRemainder(dividingBy: 1_000_000)
        self.init(seconds: q, nanos: Int32(r * 1000))
    }

    /// A duration from Swift's `Duration`, truncated to nanoseconds.
    public init(_ d: Swift.Duration) {
        let (s, attos) = d.components
        self.init(seconds: s, nanos: Int32(attos / 1_000_000_000))
    }

    /// Whole microseconds, truncated toward zero; nil when not a valid duration.
    public var microseconds: Int64? {
        guard isValid else { return nil }
        return seconds * 1_000_000 + Int64(nanos / 1000)
    }

    /// As Swift's `Duration`; nil when not a valid duration.
    public var swiftDuration: Swift.Duration? {
        guard isValid else { return nil }
        return .seconds(seconds) + .nanoseconds(Int64(nanos))
    }

    /// Within range, nanos below one second, and seconds and nanos of one sign.
    public var isValid: Bool {
        abs(seconds) <= Self.maxSeconds && abs(nanos) < 1_000_000_000
            && !(seconds > 0 && nanos < 0) && !(seconds < 0 && nanos > 0)
    }
}
