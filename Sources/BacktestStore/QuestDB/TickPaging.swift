import BacktestEngine

/// Paging ticks by time alone: ticks that share a microsecond may straddle a LIMIT, so
/// a full batch gives back its last time (it is read again, whole, by the next batch).
/// A batch that is all one time means more ticks at that microsecond than the batch
/// size: the reader then fetches every tick at that time without a limit.
enum TickPaging {
    enum Step: Equatable {
        /// Emit these ticks; continue from `nextFrom` (nil: the range is exhausted).
        case emit([Tick], nextFrom: Int64?)
        /// Fetch all ticks at this time, emit them, continue from time + 1.
        case fetchAll(at: Int64)
    }

    /// `rows` are (tick, seq) in time order as read with `LIMIT limit`.
    static func step(_ rows: [(Tick, Int64)], limit: Int) -> Step {
        if rows.count < limit { return .emit(ordered(rows), nextFrom: nil) }
        let last = rows[rows.count - 1].0.time
        let keep = rows.filter { $0.0.time < last }
        if keep.isEmpty { return .fetchAll(at: last) }
        return .emit(ordered(keep), nextFrom: last)
    }

    /// Time order, and arrival order (seq) within a microsecond.
    static func ordered(_ rows: [(Tick, Int64)]) -> [Tick] {
        rows.enumerated().sorted { a, b in
            (a.element.0.time, a.element.1, a.offset) < (b.element.0.time, b.element.1, b.offset)
        }.map(\.element.0)
    }
}
