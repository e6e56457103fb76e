/// How a walk-forward cuts its range (docs/DESIGN.md section 13.9): a number of
/// out-of-sample windows with the in-sample/out-of-sample length ratio, or the two
/// lengths; anchored (in-sample windows all start at the range's start) or rolling.
public struct WalkForwardSpec: Sendable, Equatable {
    /// Out-of-sample windows; 0 when the lengths are given.
    public var windows: Int
    /// In-sample length / out-of-sample length; 0 means `defaultRatio`.
    public var inSampleRatio: Double
    public var anchored: Bool
    /// Microseconds; nil when not given.
    public var inSampleLength: Int64?
    public var outOfSampleLength: Int64?

    public static let defaultRatio = 3.0
    public static let maxWindows = 100
    public static let maxRatio = 100.0

    public init(
        windows: Int = 0, inSampleRatio: Double = 0, anchored: Bool = false, inSampleLength: Int64? = nil,
        outOfSampleLength: Int64? = nil
    ) {
        self.windows = windows
        self.inSampleRatio = inSampleRatio
        self.anchored = anchored
        self.inSampleLength = inSampleLength
        self.outOfSampleLength = outOfSampleLength
    }
}
