extension String {
    /// The last `count` lines (a log's end, for a failure's message).
    public func lastLines(_ count: Int) -> String {
        split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }
}
