import BacktestStore

extension TimeText {
    /// A half-open range for messages: `[start, end)`.
    public static func range(_ start: Int64, _ end: Int64) -> String { "[\(iso(start)), \(iso(end)))" }
}
