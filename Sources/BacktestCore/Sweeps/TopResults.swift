import BacktestStore

/// The best `k` combinations so far by the objective, in rank order (better value
/// first, NaN last, ties by combination: the same set whatever order rows arrive in).
struct TopResults: Sendable {
    struct Entry: Sendable {
        var value: Double
        var row: SweepResultRow
    }

    let k: Int
    let maximize: Bool
    private(set) var entries: [Entry] = []

    init(k: Int, maximize: Bool) {
        self.k = max(1, k)
        self.maximize = maximize
    }

    var best: Entry? { entries.first }

    /// Considers a row (one with statistics); k is small, so a sorted insert is enough.
    mutating func offer(_ value: Double, _ row: SweepResultRow) {
        let before = { (e: Entry) in
            SweepStatistic.ranksBefore(value, row.combination, e.value, e.row.combination, maximize: self.maximize)
        }
        let position = entries.firstIndex(where: before) ?? entries.count
        guard position < k else { return }
        entries.insert(Entry(value: value, row: row), at: position)
        if entries.count > k { entries.removeLast() }
    }

    mutating func setSession(_ sessionId: String, at rank: Int) {
        entries[rank].row.sessionId = sessionId
    }
}
