/// A half-open range of times [start, end), in microseconds since the Unix epoch.
public struct TimeRange: Sendable, Equatable, Hashable, Codable {
    public var start: Int64
    public var end: Int64

    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }

    public var isEmpty: Bool { end <= start }
    public func contains(_ time: Int64) -> Bool { time >= start && time < end }
}
