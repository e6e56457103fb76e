/// The commit-time check of a QuestDB import against the rows already stored in its
/// range [first, last]. Keys are (time, seq): candles have one row per time, ticks
/// number same-time rows 0, 1, 2, ... so a time imported n times covers the stored
/// rows with seq < n.
enum ImportCheck {
    enum Outcome: Equatable {
        case ok
        /// Stored rows at imported times, without replace.
        case conflict(rows: Int, first: Int64)
        /// Replace, but stored rows in the range have no key in the import: QuestDB has
        /// no DELETE, DEDUP can only overwrite equal keys, so they would survive.
        case leftovers(rows: Int, first: Int64)
    }

    /// Both lists in time order; a time repeats once per row.
    static func check(imported: [Int64], stored: [Int64], replace: Bool) -> Outcome {
        guard !stored.isEmpty else { return .ok }
        var importedCount: [Int64: Int] = [:]
        for t in imported { importedCount[t, default: 0] += 1 }
        var storedCount: [Int64: Int] = [:]
        for t in stored { storedCount[t, default: 0] += 1 }
        var rows = 0
        var first = Int64.max
        for (t, n) in storedCount {
            let covered = importedCount[t] ?? 0
            let hit = replace ? max(0, n - covered) : (covered > 0 ? n : 0)
            if hit > 0 {
                rows += hit
                first = min(first, t)
            }
        }
        if rows == 0 { return .ok }
        return replace ? .leftovers(rows: rows, first: first) : .conflict(rows: rows, first: first)
    }
}
